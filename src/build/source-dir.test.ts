import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { packageRoot } from '../package-root.js'
import { sourceDir } from './source-dir.js'

describe('sourceDir', () => {
  const withApp = mkdtempSync(join(tmpdir(), 'ec-src-'))
  mkdirSync(join(withApp, 'sample-app'))
  const empty = mkdtempSync(join(tmpdir(), 'ec-src-'))
  afterAll(() => {
    rmSync(withApp, { recursive: true, force: true })
    rmSync(empty, { recursive: true, force: true })
  })

  it.each([
    ['./sample-app of the working directory', 'sample-app', withApp, join(withApp, 'sample-app'), false],
    [
      'the shipped sample app when there is none',
      'sample-app',
      empty,
      join(packageRoot(), 'sample-app'),
      true,
    ],
    ['any other source as given, even if missing', 'api', empty, join(empty, 'api'), false],
    ['an absolute source', '/srv/app', empty, '/srv/app', false],
  ])('%s', (_name, source, cwd, dir, shipped) => {
    expect(sourceDir(source, cwd)).toEqual({ dir, shipped })
  })
})
