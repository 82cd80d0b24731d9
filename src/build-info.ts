import { execFileSync } from 'node:child_process'

// Set by scripts/bundle.mjs (esbuild `define`) to the commit dist/ was built from ('' when git
// was not there); undeclared when the sources run directly (tests, bin/dev.js).
declare const __EDGECANARY_COMMIT__: string | undefined

/**
 * The commit this edgecanary was built from: the one embedded at build time, else (running from
 * sources) `git rev-parse HEAD` in the checkout, with `-dirty` when it has uncommitted changes;
 * '' when neither is known.
 */
export function buildCommit(root: string): string {
  if (typeof __EDGECANARY_COMMIT__ === 'string') return __EDGECANARY_COMMIT__
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 5000,
      }).trim()
    const head = git('rev-parse', 'HEAD')
    return git('status', '--porcelain', '--untracked-files=no') ? `${head}-dirty` : head
  } catch {
    return ''
  }
}
