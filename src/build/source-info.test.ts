import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { gitRevision, publicRemoteUrl, sourceFacts, sourceLabel } from './source-info.js'

describe('publicRemoteUrl', () => {
  it.each([
    ['https://github.com/acme/app.git', 'https://github.com/acme/app.git'],
    ['https://ci:s3cret@github.com/acme/app.git', 'https://github.com/acme/app.git'],
    ['https://oauth2@gitlab.lan/acme/app', 'https://gitlab.lan/acme/app'],
    ['ssh://git@git.lan:2222/acme/app.git', 'ssh://git.lan:2222/acme/app.git'],
    ['git@github.com:acme/app.git', 'git@github.com:acme/app.git'],
    ['github.com:acme/app', 'github.com:acme/app'],
    ['/home/me/src/app', undefined],
    ['../app', undefined],
    ['file:///home/me/src/app', undefined],
    ['C:\\src\\app', undefined],
  ])('%s → %s', (url, expected) => {
    expect(publicRemoteUrl(url)).toBe(expected)
  })
})

describe('sourceLabel', () => {
  it.each([
    // facts, label
    [
      { dir: '/home/me/app/sample-app', gitRoot: '/home/me/app', remoteUrl: 'https://github.com/acme/app' },
      'https://github.com/acme/app',
    ],
    [
      {
        dir: '/home/me/app/sample-app',
        gitRoot: '/home/me/app',
        remoteUrl: 'https://u:p@github.com/acme/app',
      },
      'https://github.com/acme/app',
    ],
    // a local remote names this machine's disk: fall back to the path inside the work tree
    [
      { dir: '/home/me/app/sample-app', gitRoot: '/home/me/app', remoteUrl: '/srv/git/app.git' },
      'sample-app',
    ],
    [{ dir: '/home/me/app/services/web', gitRoot: '/home/me/app' }, 'services/web'],
    [{ dir: '/home/me/app', gitRoot: '/home/me/app' }, 'app'],
    [{ dir: '/tmp/copy-1/sample-app' }, 'sample-app'],
  ])('%j → %s', (facts, label) => {
    expect(sourceLabel(facts)).toBe(label)
  })

  it('is the same for two checkouts in different places, and holds no absolute path', () => {
    const a = sourceLabel({ dir: '/home/alice/src/app/sample-app', gitRoot: '/home/alice/src/app' })
    const b = sourceLabel({ dir: '/builds/ci-42/sample-app', gitRoot: '/builds/ci-42' })
    expect(a).toBe(b)
    expect(a.startsWith('/')).toBe(false)
  })
})

describe('sourceFacts and gitRevision against real git work trees', () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'ec-source-')))
  afterAll(() => rmSync(root, { recursive: true, force: true }))
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
      cwd,
      encoding: 'utf8',
    }).trim()

  it('outside a work tree: only the directory, no revision, label = its name', async () => {
    const dir = join(root, 'plain', 'sample-app')
    mkdirSync(dir, { recursive: true })
    expect(await sourceFacts(dir)).toEqual({ dir })
    expect(await gitRevision(dir)).toBeUndefined()
    expect(sourceLabel(await sourceFacts(dir))).toBe('sample-app')
  })

  it('in a work tree: origin URL without credentials, revision, -dirty after a change', async () => {
    const repo = join(root, 'repo')
    const dir = join(repo, 'sample-app')
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'main.go'), 'package main\n')
    git(repo, 'init', '-q')
    git(repo, 'add', '.')
    git(repo, 'commit', '-q', '-m', 'x')
    const head = git(repo, 'rev-parse', 'HEAD')
    expect(sourceLabel(await sourceFacts(dir))).toBe('sample-app')
    expect(await gitRevision(dir)).toBe(head)

    git(repo, 'remote', 'add', 'upstream', 'https://ci:tok@git.lan/acme/up.git')
    expect(sourceLabel(await sourceFacts(dir))).toBe('https://git.lan/acme/up.git')
    git(repo, 'remote', 'add', 'origin', 'git@github.com:acme/app.git')
    expect(await sourceFacts(dir)).toEqual({ dir, gitRoot: repo, remoteUrl: 'git@github.com:acme/app.git' })

    writeFileSync(join(dir, 'main.go'), 'package main\n// changed\n')
    expect(await gitRevision(dir)).toBe(`${head}-dirty`)
  })

  it('a clone of a local path has a local origin, which is not used', async () => {
    const clone = join(root, 'clone')
    git(root, 'clone', '-q', join(root, 'repo'), clone)
    expect((await sourceFacts(join(clone, 'sample-app'))).remoteUrl).toBe(join(root, 'repo'))
    expect(sourceLabel(await sourceFacts(join(clone, 'sample-app')))).toBe('sample-app')
  })
})
