import { execFileSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** End-to-end tests run the CLI as users do (`node bin/run.js`), so dist/ must be fresh. */
export default function setup(): void {
  const root = join(import.meta.dirname, '..', '..')
  const dist = join(root, 'dist', 'commands')
  if (process.env.EDGECANARY_SKIP_BUILD === '1' && existsSync(dist) && statSync(dist).isDirectory()) return
  execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' })
}
