import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { packageRoot } from '../package-root.js'

/** The source directory edgecanary.yaml and --source default to. */
export const DEFAULT_SOURCE = 'sample-app'

/**
 * The Go source to build: `--source`, else edgecanary.yaml's `source`; the default
 * `sample-app` falls back to the sample app shipped inside the package when the working
 * directory has none (after `npm install -g`, `init` in an empty directory works), with the
 * one line to say so. An explicit directory is never replaced.
 *
 *   buildSource(undefined, 'sample-app', '/empty') → { dir: '<package>/sample-app', note: 'using the sample app shipped with edgecanary: …' }
 *   buildSource('./app', 'sample-app', '/work')    → { dir: './app' }
 */
export function buildSource(
  flag: string | undefined,
  configured: string,
  cwd: string = process.cwd(),
): { dir: string; note?: string } {
  const dir = flag ?? configured
  if (flag !== undefined || dir !== DEFAULT_SOURCE || existsSync(resolve(cwd, dir))) return { dir }
  const shipped = join(packageRoot(), DEFAULT_SOURCE)
  if (!existsSync(shipped)) return { dir }
  return {
    dir: shipped,
    note: `no ./${DEFAULT_SOURCE} here: using the sample app shipped with edgecanary (${shipped}); --source DIR builds your own`,
  }
}
