import { execFileSync } from 'node:child_process'
import { basename, relative, sep } from 'node:path'

/** What git knows about a source directory; every field is absent outside a git work tree. */
export interface SourceFacts {
  /** Absolute source directory. */
  dir: string
  /** `git rev-parse --show-toplevel`. */
  gitRoot?: string
  /** URL of `origin`, else of the first remote. */
  remoteUrl?: string
}

/**
 * A remote URL fit for an image label: network URLs with any user:password removed; local
 * remotes (a path, `file://`) give undefined, since they name a directory on this machine.
 *
 *   publicRemoteUrl('https://ci:tok@github.com/acme/app.git') → 'https://github.com/acme/app.git'
 *   publicRemoteUrl('git@github.com:acme/app.git')            → 'git@github.com:acme/app.git'
 *   publicRemoteUrl('/home/me/src/app')                       → undefined
 */
export function publicRemoteUrl(url: string): string | undefined {
  const text = url.trim()
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)
  if (scheme) {
    if (scheme[1].toLowerCase() === 'file') return undefined
    try {
      const u = new URL(text)
      u.username = ''
      u.password = ''
      return u.toString()
    } catch {
      return undefined
    }
  }
  // scp-like syntax: [user@]host:path (not a Windows drive letter, not a local path)
  if (/^(?:[\w.-]+@)?[\w.-]+:(?!\/\/)/.test(text) && !/^[a-z]:[\\/]/i.test(text)) return text
  return undefined
}

/**
 * The `org.opencontainers.image.source` label: portable, so two checkouts of the same code
 * give the same image digest, and never a local absolute path. The remote URL when there is
 * a public one; else the directory's path inside its git work tree; else its name.
 *
 *   sourceLabel({ dir: '/home/me/app/sample-app', gitRoot: '/home/me/app', remoteUrl: 'https://github.com/acme/app' })
 *     → 'https://github.com/acme/app'
 *   sourceLabel({ dir: '/home/me/app/sample-app', gitRoot: '/home/me/app' }) → 'sample-app'
 *   sourceLabel({ dir: '/tmp/x/sample-app' })                                → 'sample-app'
 */
export function sourceLabel(facts: SourceFacts): string {
  const remote = facts.remoteUrl ? publicRemoteUrl(facts.remoteUrl) : undefined
  if (remote) return remote
  if (facts.gitRoot) {
    const rel = relative(facts.gitRoot, facts.dir)
    if (rel && !rel.startsWith('..')) return rel.split(sep).join('/')
  }
  return basename(facts.dir)
}

function git(dir: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim()
  } catch {
    return undefined
  }
}

/** Reads the SourceFacts of `dir` with git (none when git or a work tree is missing). */
export function sourceFacts(dir: string): SourceFacts {
  const gitRoot = git(dir, ['rev-parse', '--show-toplevel'])
  if (!gitRoot) return { dir }
  const remotes = (git(dir, ['remote']) ?? '').split('\n').filter(Boolean)
  const name = remotes.includes('origin') ? 'origin' : remotes[0]
  const remoteUrl = name ? git(dir, ['remote', 'get-url', name]) : undefined
  return { dir, gitRoot, ...(remoteUrl ? { remoteUrl } : {}) }
}

/** The commit of `dir`'s work tree, `-dirty` when files under `dir` changed; undefined outside git. */
export function gitRevision(dir: string): string | undefined {
  const dirty = git(dir, ['status', '--porcelain', '--', '.'])
  const rev = git(dir, ['rev-parse', 'HEAD'])
  if (dirty === undefined || !rev) return undefined
  return dirty ? `${rev}-dirty` : rev
}
