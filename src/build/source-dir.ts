import { existsSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import { packageRoot } from '../package-root.js'

/** The default `source` (edgecanary.yaml and --source): the sample app. */
export const SAMPLE_APP = 'sample-app'

/**
 * The directory to build: `source` from the working directory, except the default `sample-app`
 * when the working directory has none, which is the sample app shipped inside edgecanary (the
 * npm package, or the single-file executable's extracted copy); `shipped` says so.
 *
 *   sourceDir('sample-app', '/home/me/app')  → { dir: '/home/me/app/sample-app', shipped: false }  // it exists
 *   sourceDir('sample-app', '/tmp/empty')    → { dir: '<package>/sample-app', shipped: true }
 *   sourceDir('./api', '/home/me/app')       → { dir: '/home/me/app/api', shipped: false }  // never replaced
 */
export function sourceDir(source: string, cwd = process.cwd()): { dir: string; shipped: boolean } {
  const dir = isAbsolute(source) ? source : resolve(cwd, source)
  if (source !== SAMPLE_APP || existsSync(dir)) return { dir, shipped: false }
  return { dir: join(packageRoot(), SAMPLE_APP), shipped: true }
}
