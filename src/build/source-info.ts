import { execFile } from 'node:child_process'
import { basename, relative, sep } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

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

/** git's answer, trimmed; undefined when git fails or is missing. Asynchronous, so the questions run side by side. */
async function git(dir: string, args: string[]): Promise<string | undefined> {
  try {
    return (await run('git', args, { cwd: dir, encoding: 'utf8' })).stdout.trim()
  } catch {
    return undefined
  }
}

/** Reads the SourceFacts of `dir` with git (none when git or a work tree is missing). */
export async function sourceFacts(dir: string): Promise<SourceFacts> {
  const [gitRoot, remoteList] = await Promise.all([
    git(dir, ['rev-parse', '--show-toplevel']),
    git(dir, ['remote']),
  ])
  if (!gitRoot) return { dir }
  const remotes = (remoteList ?? '').split('\n').filter(Boolean)
  const name = remotes.includes('origin') ? 'origin' : remotes[0]
  const remoteUrl = name ? await git(dir, ['remote', 'get-url', name]) : undefined
  return { dir, gitRoot, ...(remoteUrl ? { remoteUrl } : {}) }
}

/** The commit of `dir`'s work tree, `-dirty` when files under `dir` changed; undefined outside git. */
export async function gitRevision(dir: string): Promise<string | undefined> {
  const [dirty, rev] = await Promise.all([
    git(dir, ['status', '--porcelain', '--', '.']),
    git(dir, ['rev-parse', 'HEAD']),
  ])
  if (dirty === undefined || !rev) return undefined
  return dirty ? `${rev}-dirty` : rev
}
