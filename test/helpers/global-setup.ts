import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

/**
 * End-to-end tests run the CLI as users do (`node bin/run.js`), so dist/ must be fresh and be
 * what ships: the esbuild bundles of `npm run build`. Type errors are reported by the separate
 * `tsc --noEmit` gate; esbuild does not check types, so a type error elsewhere does not hide
 * every end-to-end result.
 */
export default function setup(): void {
  if (process.env.EDGECANARY_SKIP_BUILD === '1') return
  const root = join(import.meta.dirname, '..', '..')
  const bundled = spawnSync(process.execPath, ['scripts/bundle.mjs'], { cwd: root, stdio: 'inherit' })
  if (bundled.status !== 0) throw new Error('scripts/bundle.mjs failed: dist/ cannot be built')
  // the command manifest spares every CLI start from importing all commands (0.8 s → 0.2 s)
  spawnSync('npx', ['oclif', 'manifest'], { cwd: root, stdio: 'ignore' })
}
