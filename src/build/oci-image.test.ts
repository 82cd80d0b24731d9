import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import {
  digestOf,
  formatPlatform,
  gzipReproducible,
  type ImageSpec,
  imageFromLayer,
  imageIndex,
  MEDIA,
  NONROOT,
  type Platform,
  parsePlatform,
  tarLayer,
} from './oci-image.js'

/** One ustar header block, read field by field as a tar reader does. */
interface TarHeader {
  name: string
  mode: number
  uid: number
  gid: number
  size: number
  mtime: number
  type: string
  magic: string
  uname: string
  gname: string
}

function tarHeaders(tar: Buffer): TarHeader[] {
  const text = (o: number, n: number) =>
    tar
      .subarray(o, o + n)
      .toString('latin1')
      .replace(/\0.*$/s, '')
  const octal = (o: number, n: number) => Number.parseInt(text(o, n).trim() || '0', 8)
  const out: TarHeader[] = []
  for (let off = 0; off + 512 <= tar.length; ) {
    if (tar.subarray(off, off + 512).every((b) => b === 0)) break
    const h = {
      name: text(off, 100),
      mode: octal(off + 100, 8),
      uid: octal(off + 108, 8),
      gid: octal(off + 116, 8),
      size: octal(off + 124, 12),
      mtime: octal(off + 136, 12),
      type: text(off + 156, 1),
      magic: text(off + 257, 6),
      uname: text(off + 265, 32),
      gname: text(off + 297, 32),
    }
    out.push(h)
    off += 512 + Math.ceil(h.size / 512) * 512
  }
  return out
}

/** A stand-in for a Go binary: bytes that do not compress away. */
function binaryBytes(seed: number, length = 200_000): Buffer {
  const b = Buffer.alloc(length)
  let x = seed
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    b[i] = x >>> 24
  }
  return b
}

const arm64: Platform = { os: 'linux', architecture: 'arm64' }
const spec = (over: Partial<ImageSpec> = {}): ImageSpec => ({
  platform: arm64,
  entrypoint: '/app',
  port: 8080,
  version: '2.0',
  ...over,
})

describe('digestOf', () => {
  it.each([
    ['', 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  ])('digestOf(%j) = %s', (text, digest) => {
    expect(digestOf(Buffer.from(text))).toBe(digest)
  })
})

describe('tarLayer: a reproducible layer', () => {
  it('writes sorted entries with parent directories, mtime 0, uid/gid 65532 and the given modes', async () => {
    const tar = await tarLayer([
      { path: 'usr/bin/z', mode: 0o755, data: Buffer.from('z') },
      { path: 'app', mode: 0o755, data: Buffer.from('#!app') },
      { path: 'etc/config', mode: 0o644, data: Buffer.from('k=v\n') },
    ])
    const headers = tarHeaders(tar)
    expect(headers.map((h) => [h.name, h.type, h.mode, h.size])).toEqual([
      ['app', '0', 0o755, 5],
      ['etc/', '5', 0o755, 0],
      ['etc/config', '0', 0o644, 4],
      ['usr/', '5', 0o755, 0],
      ['usr/bin/', '5', 0o755, 0],
      ['usr/bin/z', '0', 0o755, 1],
    ])
    for (const h of headers) {
      expect(h).toMatchObject({ uid: NONROOT, gid: NONROOT, mtime: 0, uname: 'nonroot', gname: 'nonroot' })
      expect(h.magic).toBe('ustar')
    }
  })

  it('does not depend on the order the files are given in', async () => {
    const a = { path: 'a/x', mode: 0o644, data: Buffer.from('x') }
    const b = { path: 'b', mode: 0o755, data: Buffer.from('y') }
    expect((await tarLayer([a, b])).equals(await tarLayer([b, a]))).toBe(true)
  })
})

describe('gzipReproducible', () => {
  it('writes a gzip header with no timestamp and no file name', () => {
    const gz = gzipReproducible(Buffer.from('hello'))
    // RFC 1952: ID1 ID2 CM FLG MTIME(4, little-endian) XFL OS
    expect([gz[0], gz[1], gz[2]]).toEqual([0x1f, 0x8b, 8])
    expect(gz[3] & 0b1000).toBe(0) // FNAME not set
    expect(gz[3] & 0b10000).toBe(0) // FCOMMENT not set
    expect(gz.readUInt32LE(4)).toBe(0) // MTIME 0
    expect(gunzipSync(gz).toString()).toBe('hello')
  })
})

describe('layer reproducibility: same binary bytes → same layer bytes and digest', () => {
  const layerOf = async (bin: Buffer) =>
    imageFromLayer(await tarLayer([{ path: 'app', mode: 0o755, data: bin }]), spec()).layer

  it('two builds from equal (not identical) buffers, some time apart, give byte-identical gzip layers', async () => {
    const first = await layerOf(binaryBytes(7))
    await new Promise((r) => setTimeout(r, 1100)) // a wall-clock second later: no timestamp may leak in
    const second = await layerOf(Buffer.from(binaryBytes(7)))
    expect(second.bytes.equals(first.bytes)).toBe(true)
    expect(second.digest).toBe(first.digest)
    expect(second.digest).toBe(digestOf(second.bytes))
    expect(second.size).toBe(second.bytes.length)
    expect(second.mediaType).toBe(MEDIA.layer)
    expect(second.bytes.readUInt32LE(4)).toBe(0)
    const headers = tarHeaders(gunzipSync(second.bytes))
    expect(headers).toEqual([
      {
        name: 'app',
        mode: 0o755,
        uid: 65532,
        gid: 65532,
        size: 200_000,
        mtime: 0,
        type: '0',
        magic: 'ustar',
        uname: 'nonroot',
        gname: 'nonroot',
      },
    ])
  })

  it('one changed byte in the binary changes the layer digest', async () => {
    const bin = binaryBytes(7)
    const changed = Buffer.from(bin)
    changed[1000] ^= 1
    expect((await layerOf(changed)).digest).not.toBe((await layerOf(bin)).digest)
  })
})

describe('imageFromLayer', () => {
  const tar = Buffer.from('not really a tar, but bytes are bytes')

  it('config: platform, non-root user, entrypoint, port, labels sorted, fixed created time, diff_id of the uncompressed layer', () => {
    const img = imageFromLayer(
      tar,
      spec({
        platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
        labels: { 'org.opencontainers.image.source': 'https://example/app', 'a.first': 'x' },
      }),
    )
    expect(img.config.mediaType).toBe(MEDIA.config)
    const config = JSON.parse(img.config.bytes.toString())
    expect(config).toEqual({
      architecture: 'arm',
      os: 'linux',
      variant: 'v7',
      created: '1970-01-01T00:00:00Z',
      config: {
        User: '65532:65532',
        Entrypoint: ['/app'],
        Env: ['PATH=/', 'PORT=8080'],
        ExposedPorts: { '8080/tcp': {} },
        WorkingDir: '/',
        Labels: {
          'a.first': 'x',
          'org.opencontainers.image.source': 'https://example/app',
          'org.opencontainers.image.title': 'kubeapp',
          'org.opencontainers.image.version': '2.0',
        },
      },
      rootfs: { type: 'layers', diff_ids: [digestOf(tar)] },
      history: [{ created: '1970-01-01T00:00:00Z', created_by: 'edgecanary build', comment: 'go binary' }],
    })
    expect(Object.keys(config.config.Labels)).toEqual([...Object.keys(config.config.Labels)].sort())
  })

  it.each([
    [arm64, { architecture: 'arm64', os: 'linux' }],
    [
      { os: 'linux', architecture: 'amd64' },
      { architecture: 'amd64', os: 'linux' },
    ],
    [
      { os: 'linux', architecture: 'arm', variant: 'v6' },
      { architecture: 'arm', os: 'linux', variant: 'v6' },
    ],
  ])('config platform of %j', (platform, expected) => {
    const config = JSON.parse(imageFromLayer(tar, spec({ platform })).config.bytes.toString())
    expect({ architecture: config.architecture, os: config.os, variant: config.variant }).toEqual({
      variant: undefined,
      ...expected,
    })
  })

  it('manifest: OCI media types, config and layer descriptors that match the blobs', () => {
    const img = imageFromLayer(tar, spec({ port: 9090 }))
    expect(img.manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json')
    expect(img.manifest.digest).toBe(digestOf(img.manifest.bytes))
    expect(JSON.parse(img.manifest.bytes.toString())).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: img.config.digest,
        size: img.config.bytes.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: img.layer.digest,
          size: img.layer.bytes.length,
        },
      ],
      annotations: { 'org.opencontainers.image.version': '2.0' },
    })
    expect(gunzipSync(img.layer.bytes).equals(tar)).toBe(true)
    expect(JSON.parse(img.config.bytes.toString()).config.ExposedPorts).toEqual({ '9090/tcp': {} })
  })

  it.each([
    ['version', spec({ version: '2.1' })],
    ['port', spec({ port: 8081 })],
    ['entrypoint', spec({ entrypoint: '/server' })],
    ['platform', spec({ platform: { os: 'linux', architecture: 'amd64' } })],
    ['labels', spec({ labels: { 'org.opencontainers.image.revision': 'abc' } })],
  ])('same inputs → same manifest digest; a different %s → a different one', (_what, other) => {
    const base = imageFromLayer(tar, spec()).manifest.digest
    expect(imageFromLayer(Buffer.from(tar), spec()).manifest.digest).toBe(base)
    expect(imageFromLayer(tar, other).manifest.digest).not.toBe(base)
  })
})

describe('imageIndex', () => {
  it('lists each manifest with its platform, in the order given, as an OCI index', () => {
    const tar = Buffer.from('layer')
    const platforms: Platform[] = [arm64, { os: 'linux', architecture: 'arm', variant: 'v7' }]
    const entries = platforms.map((platform) => ({
      manifest: imageFromLayer(tar, spec({ platform })).manifest,
      platform,
    }))
    const index = imageIndex(entries)
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json')
    expect(index.digest).toBe(digestOf(index.bytes))
    expect(index.size).toBe(index.bytes.length)
    expect(JSON.parse(index.bytes.toString())).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: entries.map((e) => ({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: e.manifest.digest,
        size: e.manifest.bytes.length,
        platform: e.platform,
      })),
    })
    expect(imageIndex([...entries].reverse()).digest).not.toBe(index.digest)
    expect(imageIndex(entries.map((e) => ({ ...e }))).digest).toBe(index.digest)
  })
})

describe('parsePlatform / formatPlatform', () => {
  it.each([
    ['linux/arm64', { os: 'linux', architecture: 'arm64' }],
    ['linux/arm64/v8', { os: 'linux', architecture: 'arm64' }],
    ['linux/arm/v7', { os: 'linux', architecture: 'arm', variant: 'v7' }],
    ['linux/arm/v6', { os: 'linux', architecture: 'arm', variant: 'v6' }],
    ['linux/amd64', { os: 'linux', architecture: 'amd64' }],
    [' linux/amd64 ', { os: 'linux', architecture: 'amd64' }],
  ])('parsePlatform(%j)', (text, expected) => {
    expect(parsePlatform(text)).toEqual(expected)
  })

  it.each(['linux/sparc', 'windows/amd64', 'linux/amd64/v7', 'linux/arm64/v7', 'linux', ''])(
    'parsePlatform(%j) → undefined',
    (text) => {
      expect(parsePlatform(text)).toBeUndefined()
    },
  )

  it.each(['linux/arm64', 'linux/arm/v7', 'linux/amd64'])(
    'formatPlatform(parsePlatform(%j)) round-trips',
    (t) => {
      const p = parsePlatform(t)
      expect(p && formatPlatform(p)).toBe(t)
    },
  )
})
