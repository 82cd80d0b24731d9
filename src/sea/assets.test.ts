import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { extractFiles, filesDir, type SeaFiles } from './assets.js'

const b64 = (s: string) => Buffer.from(s).toString('base64')

describe('filesDir', () => {
  it.each([
    ['/h', '0.1.0', '{"a":1}', /^\/h\/sea\/0\.1\.0-[0-9a-f]{12}$/],
    ['/home/me/.edgecanary', '1.2.3', '{}', /^\/home\/me\/\.edgecanary\/sea\/1\.2\.3-[0-9a-f]{12}$/],
  ])('filesDir(%s, %s, …)', (home, version, json, re) => {
    expect(filesDir(home, version, json)).toMatch(re)
  })
  it('differs when the content differs, so a new build never reuses old files', () => {
    expect(filesDir('/h', '0.1.0', '{"a":1}')).not.toBe(filesDir('/h', '0.1.0', '{"a":2}'))
  })
})

describe('extractFiles', () => {
  const home = mkdtempSync(join(tmpdir(), 'ec-sea-assets-'))
  afterAll(() => rmSync(home, { recursive: true, force: true }))
  const files: SeaFiles = {
    version: '0.1.0',
    files: [
      { path: 'package.json', mode: 0o644, data: b64('{"name":"edgecanary"}') },
      { path: 'templates/kubernetes/service.yaml', mode: 0o644, data: b64('kind: Service\n') },
      { path: 'sample-app/run.sh', mode: 0o755, data: b64('#!/bin/sh\n') },
    ],
  }

  it('writes every file with its mode, once', () => {
    const dir = join(home, 'sea', 'a')
    expect(extractFiles(dir, files)).toBe(dir)
    expect(readFileSync(join(dir, 'templates/kubernetes/service.yaml'), 'utf8')).toBe('kind: Service\n')
    expect(statSync(join(dir, 'sample-app/run.sh')).mode & 0o777).toBe(0o755)
    // a second start finds the complete copy and writes nothing
    rmSync(join(dir, 'templates'), { recursive: true })
    extractFiles(dir, files)
    expect(existsSync(join(dir, 'templates'))).toBe(false)
  })

  it.each(['../escape.txt', '/etc/escape.txt', 'templates/../../escape.txt'])(
    'refuses the path %s',
    (path) => {
      const dir = join(home, 'sea', 'b')
      expect(() =>
        extractFiles(dir, { version: '0.1.0', files: [{ path, mode: 0o644, data: b64('x') }] }),
      ).toThrow(/refusing to extract/)
      expect(existsSync(join(home, 'sea', 'escape.txt'))).toBe(false)
      expect(existsSync(dir)).toBe(false)
    },
  )
})
