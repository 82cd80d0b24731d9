import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'

let found: string | undefined

/**
 * The installed package's root directory, the one holding package.json and templates/. It is
 * found upward from this module, so it is the same from src/ (tests) and from dist/'s bundled
 * commands and chunks, whatever their depth.
 */
export function packageRoot(): string {
  if (found) return found
  // the single-file executable's extracted files (src/sea/main.ts), where no module has a directory
  if (process.env.EDGECANARY_PACKAGE_ROOT) return process.env.EDGECANARY_PACKAGE_ROOT
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'templates'))) {
      found = dir
      return dir
    }
    if (dirname(dir) === dir) throw new Error(`edgecanary's package root is not above ${import.meta.dirname}`)
  }
}
