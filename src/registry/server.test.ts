import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type EmbeddedRegistry,
  fromThisMachine,
  hasPushToken,
  isLoopback,
  manifestProblem,
  startRegistry,
} from './server.js'

describe('who may push without a token: this machine only', () => {
  const own = Object.values(networkInterfaces())
    .flatMap((l) => l ?? [])
    .find((i) => !i.internal && i.family === 'IPv4')?.address
  it.each([
    ['127.0.0.1', true],
    ['127.0.0.2', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['198.51.100.7', false], // TEST-NET-2
    ['::ffff:198.51.100.7', false],
    [own ?? '192.0.2.1', false], // loopback in the strict sense: not this machine's LAN address
    [undefined, false],
  ])('%s → %s', (address, local) => expect(isLoopback(address)).toBe(local))

  // the laptop pushing to its own `registry up` on its LAN address (init --hosts --registry
  // laptop) connects from that address; other machines never do
  it.each([
    ['127.0.0.1', true],
    ['::1', true],
    ...(own ? [[own, true] as [string, boolean]] : []),
    ['198.51.100.7', false],
    ['::ffff:198.51.100.7', false],
    [undefined, false],
  ] as [string | undefined, boolean][])('fromThisMachine(%s) → %s', (address, mine) =>
    expect(fromThisMachine(address)).toBe(mine),
  )

  it.each([
    ['Bearer s3cret', 's3cret', true],
    [`Basic ${Buffer.from('any:s3cret').toString('base64')}`, 's3cret', true],
    ['Bearer wrong1', 's3cret', false],
    ['Bearer s3cret', undefined, false],
    [undefined, 's3cret', false],
  ])('%s with token %s → %s', (auth, token, ok) => expect(hasPushToken(auth, token)).toBe(ok))
})

describe('manifest checks', () => {
  const d = (n: number) => ({
    mediaType: 'x',
    digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
    size: 1,
  })
  it.each([
    ['not json', 'the manifest is not JSON'],
    ['[]', 'the manifest is not a JSON object'],
    ['{}', 'schemaVersion must be 2'],
    [
      JSON.stringify({ schemaVersion: 2, config: { mediaType: 'x', digest: 'md5:1', size: 1 }, layers: [] }),
      'config.digest is not a sha256 digest',
    ],
    [JSON.stringify({ schemaVersion: 2, config: d(1) }), 'layers is missing'],
    [JSON.stringify({ schemaVersion: 2, config: d(1), layers: [d(2)] }), undefined],
    [JSON.stringify({ schemaVersion: 2, manifests: [d(3)] }), undefined],
  ])('%s → %s', (text, problem) => expect(manifestProblem(Buffer.from(text))).toBe(problem))
})

describe('embedded registry limits (a real server on loopback)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ec-reg-'))
  let reg: EmbeddedRegistry
  beforeAll(async () => {
    reg = await startRegistry({ dir, maxBlobBytes: 1000 })
  })
  afterAll(async () => {
    await reg.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`
  const uploads = () => readdirSync(join(dir, 'uploads'))

  it('refuses tags outside the OCI grammar and manifests that are not manifests', async () => {
    const put = (tag: string, body: string) =>
      fetch(`${reg.url}/v2/app/manifests/${tag}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
        body,
      })
    const bad = await put('-bad', '{}')
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ errors: [{ code: 'TAG_INVALID' }] })
    expect((await put('x'.repeat(129), '{}')).status).toBe(400)
    const invalid = await put('1.0', '{"schemaVersion": 2}')
    expect(invalid.status).toBe(400)
    expect(await invalid.json()).toMatchObject({
      errors: [{ code: 'MANIFEST_INVALID', message: 'config is not a descriptor' }],
    })
    expect((await fetch(`${reg.url}/v2/app/tags/list`)).status).toBe(404) // nothing was stored
  })

  it('stops an upload once it passes the blob limit while it streams, and removes it', async () => {
    const start = await fetch(`${reg.url}/v2/app/blobs/uploads/`, { method: 'POST' })
    expect(start.status).toBe(202)
    const location = start.headers.get('location') as string
    const first = await fetch(`${reg.url}${location}`, { method: 'PATCH', body: Buffer.alloc(600, 1) })
    expect(first.status).toBe(202)
    const second = await fetch(`${reg.url}${location}`, { method: 'PATCH', body: Buffer.alloc(600, 2) })
    expect(second.status).toBe(413)
    expect(await second.json()).toMatchObject({ errors: [{ code: 'SIZE_INVALID' }] })
    expect(uploads()).toEqual([])
    const mono = Buffer.alloc(1001, 3)
    const whole = await fetch(`${reg.url}/v2/app/blobs/uploads/?digest=${sha(mono)}`, {
      method: 'POST',
      body: mono,
    })
    expect(whole.status).toBe(413)
    expect((await fetch(`${reg.url}/v2/app/blobs/${sha(mono)}`, { method: 'HEAD' })).status).toBe(404)
    expect(uploads()).toEqual([])
  })

  it('removes a finished upload, keeping only the blob', async () => {
    const blob = Buffer.from('hello blob')
    const start = await fetch(`${reg.url}/v2/app/blobs/uploads/`, { method: 'POST' })
    const location = start.headers.get('location') as string
    await fetch(`${reg.url}${location}`, { method: 'PATCH', body: blob })
    const done = await fetch(`${reg.url}${location}?digest=${sha(blob)}`, { method: 'PUT' })
    expect(done.status).toBe(201)
    expect(uploads()).toEqual([])
    expect((await fetch(`${reg.url}/v2/app/blobs/${sha(blob)}`)).status).toBe(200)
  })
})
