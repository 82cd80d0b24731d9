import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pack } from 'tar-stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { digestOf, gzipReproducible, imageFromLayer, tarLayer } from '../build/oci-image.js'
import { pullImage } from './pull.js'

/** A registry served by the test that can lie: per-path overrides of body and headers. */
interface Route {
  body: Buffer
  headers?: Record<string, string>
}

let server: Server
let port = 0
const routes = new Map<string, Route>()
let cache: string
let outside: string

beforeAll(async () => {
  server = createServer((req, res) => {
    const r = routes.get(req.url ?? '')
    if (!r) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', ...r.headers })
    res.end(r.body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as { port: number }).port
  const base = mkdtempSync(join(tmpdir(), 'ec-pull-'))
  cache = join(base, 'cache')
  outside = join(base, 'victim')
})
afterAll(() => server.close())

/** Serves an image under repo:tag from raw layer tars; returns its manifest digest. */
function serve(repo: string, tag: string, layers: Buffer[], headers: Record<string, string> = {}): string {
  const img = imageFromLayer(layers[0], {
    platform: { os: 'linux', architecture: 'arm64' },
    entrypoint: '/app',
    port: 8080,
    version: '1',
  })
  const extra = layers.slice(1).map((t) => gzipReproducible(t))
  const doc = JSON.parse(img.manifest.bytes.toString()) as { layers: object[] }
  for (const gz of extra) {
    doc.layers.push({
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: digestOf(gz),
      size: gz.length,
    })
    routes.set(`/v2/${repo}/blobs/${digestOf(gz)}`, { body: gz })
  }
  const manifest = Buffer.from(JSON.stringify(doc))
  routes.set(`/v2/${repo}/blobs/${img.layer.digest}`, { body: img.layer.bytes })
  routes.set(`/v2/${repo}/blobs/${img.config.digest}`, { body: img.config.bytes })
  routes.set(`/v2/${repo}/manifests/${tag}`, {
    body: manifest,
    headers: { 'docker-content-digest': digestOf(manifest), ...headers },
  })
  routes.set(`/v2/${repo}/manifests/${digestOf(manifest)}`, { body: manifest })
  return digestOf(manifest)
}

const pull = (ref: string) =>
  pullImage(`127.0.0.1:${port}/${ref}`, { platform: { os: 'linux', architecture: 'arm64' }, cacheDir: cache })

async function rawTar(
  entries: {
    name: string
    type?: 'file' | 'directory' | 'symlink' | 'link'
    linkname?: string
    data?: string
  }[],
) {
  const p = pack()
  const chunks: Buffer[] = []
  p.on('data', (c: unknown) => chunks.push(c as Buffer))
  const done = new Promise<void>((r) => p.on('end', () => r()))
  for (const e of entries)
    p.entry({ name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: 0o755 }, e.data ?? '')
  p.finalize()
  await done
  return Buffer.concat(chunks)
}

describe('pullImage trusts nothing the registry says', () => {
  it('refuses a Docker-Content-Digest that climbs out of the cache, and touches nothing outside', async () => {
    mkdirSync(outside, { recursive: true })
    writeFileSync(join(outside, 'keep'), 'host file')
    const app = await tarLayer([{ path: 'app', mode: 0o755, data: Buffer.from('x') }])
    serve('liar', 'v1', [app], { 'docker-content-digest': `../../../../${outside}` })
    await expect(pull('liar:v1')).rejects.toThrow(/invalid digest/)
    expect(readFileSync(join(outside, 'keep'), 'utf8')).toBe('host file')
    expect(existsSync(join(cache, 'rootfs'))).toBe(false)
  })

  it('refuses a manifest whose bytes do not hash to the header or to the digest asked for', async () => {
    const app = await tarLayer([{ path: 'app', mode: 0o755, data: Buffer.from('y') }])
    const real = serve('swap', 'v1', [app], { 'docker-content-digest': digestOf(Buffer.from('other')) })
    await expect(pull('swap:v1')).rejects.toThrow(/manifest digest mismatch/)
    // asked by digest, served other bytes
    routes.set(`/v2/swap/manifests/${real}`, { body: Buffer.from('{"schemaVersion":2}') })
    await expect(pull(`swap@${real}`)).rejects.toThrow(/manifest digest mismatch/)
  })

  it('refuses a blob whose bytes do not hash to its digest', async () => {
    const app = await tarLayer([{ path: 'app', mode: 0o755, data: Buffer.from('z') }])
    const img = imageFromLayer(app, {
      platform: { os: 'linux', architecture: 'arm64' },
      entrypoint: '/app',
      port: 1,
      version: '1',
    })
    serve('badblob', 'v1', [app])
    routes.set(`/v2/badblob/blobs/${img.layer.digest}`, { body: Buffer.from('tampered') })
    await expect(pull('badblob:v1')).rejects.toThrow(/failed verification/)
  })

  it('a layer writing through a symlink to the host fails the pull; the host file stays', async () => {
    const evil = await rawTar([
      { name: 'escape', type: 'symlink', linkname: outside },
      { name: 'escape/keep', data: 'overwritten' },
    ])
    serve('symlink', 'v1', [evil])
    await expect(pull('symlink:v1')).rejects.toThrow(/through a symlink/)
    expect(readFileSync(join(outside, 'keep'), 'utf8')).toBe('host file')
    expect(readdirSync(join(cache, 'rootfs')).filter((d) => d.includes('.tmp-'))).toEqual([])
  })

  it('a corrupt layer fails the pull instead of throwing from a stream handler', async () => {
    const gz = gzipReproducible(Buffer.from('this is not a tar archive at all, just text'.repeat(20)))
    serve('corrupt', 'v1', [await tarLayer([{ path: 'a', mode: 0o644, data: Buffer.from('a') }])])
    const doc = JSON.parse(routes.get('/v2/corrupt/manifests/v1')?.body.toString() ?? '{}')
    doc.layers[0] = {
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: digestOf(gz),
      size: gz.length,
    }
    const m = Buffer.from(JSON.stringify(doc))
    routes.set('/v2/corrupt/manifests/v1', { body: m, headers: { 'docker-content-digest': digestOf(m) } })
    routes.set(`/v2/corrupt/blobs/${digestOf(gz)}`, { body: gz })
    await expect(pull('corrupt:v1')).rejects.toThrow(/bad layer|invalid|header/i)
  })

  it('a file then a directory of the same name, and climbing names, apply as containerd applies them', async () => {
    const layer = await rawTar([
      { name: 'www', data: 'a file first' },
      { name: 'www/', type: 'directory' },
      { name: 'www/index.html', data: 'hello' },
      { name: '../../../climb.txt', data: 'clamped to the root' },
      { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
      { name: 'bin/busybox', data: 'elf' },
      { name: 'bin/hard', type: 'link', linkname: 'bin/busybox' },
    ])
    const second = await rawTar([{ name: 'www/.wh.index.html' }, { name: 'www/other.html', data: 'x' }])
    serve('ok', 'v1', [layer, second])
    const img = await pull('ok:v1')
    expect(lstatSync(join(img.rootfs, 'www')).isDirectory()).toBe(true)
    expect(existsSync(join(img.rootfs, 'www/index.html'))).toBe(false)
    expect(readFileSync(join(img.rootfs, 'www/other.html'), 'utf8')).toBe('x')
    expect(readFileSync(join(img.rootfs, 'climb.txt'), 'utf8')).toBe('clamped to the root')
    expect(lstatSync(join(img.rootfs, 'bin/sh')).isSymbolicLink()).toBe(true)
    expect(readFileSync(join(img.rootfs, 'bin/hard'), 'utf8')).toBe('elf')
    expect(existsSync(join(cache, '..', 'climb.txt'))).toBe(false)
    rmSync(img.rootfs, { recursive: true })
  })
})
