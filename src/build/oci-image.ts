import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { pack } from 'tar-stream'

export const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const

export interface Platform {
  os: string
  architecture: string
  variant?: string
}

export interface Blob {
  mediaType: string
  digest: string
  size: number
  bytes: Buffer
}

/** Non-root user of the image (distroless's `nonroot`). */
export const NONROOT = 65532

/**
 * sha256 digest in OCI form.
 *
 *   digestOf(Buffer.from('')) → 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
 */
export function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

function blob(mediaType: string, bytes: Buffer): Blob {
  return { mediaType, digest: digestOf(bytes), size: bytes.length, bytes }
}

/**
 * A reproducible tar of the given files: entries sorted, mtime 0, uid/gid 65532, parent
 * directories included. Same files → same bytes.
 *
 *   await tarLayer([{ path: 'app', mode: 0o755, data }]) → Buffer (ustar, 'app' with mode 0755)
 */
export async function tarLayer(files: { path: string; mode: number; data: Buffer }[]): Promise<Buffer> {
  const p = pack()
  const chunks: Buffer[] = []
  p.on('data', (c: unknown) => chunks.push(c as Buffer))
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', () => resolve())
    p.on('error', reject)
  })
  const mtime = new Date(0)
  const owner = { uid: NONROOT, gid: NONROOT, uname: 'nonroot', gname: 'nonroot', mtime }
  const dirs = new Set<string>()
  for (const f of files) {
    const parts = f.path.split('/').slice(0, -1)
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/'))
  }
  const entries = [
    ...[...dirs].map((d) => ({ path: `${d}/`, dir: true as const, mode: 0o755, data: Buffer.alloc(0) })),
    ...files.map((f) => ({ ...f, dir: false as const })),
  ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  for (const e of entries) {
    if (e.dir) p.entry({ name: e.path, type: 'directory', mode: e.mode, ...owner })
    else p.entry({ name: e.path, type: 'file', mode: e.mode, size: e.data.length, ...owner }, e.data)
  }
  p.finalize()
  await done
  return Buffer.concat(chunks)
}

/**
 * gzip with no timestamp and no file name, so the compressed layer is reproducible.
 * (Node writes MTIME 0 and OS 3 in the header.)
 */
export function gzipReproducible(bytes: Buffer): Buffer {
  return gzipSync(bytes, { level: 9 })
}

export interface ImageSpec {
  platform: Platform
  /** Absolute path of the entrypoint inside the image, e.g. `/app`. */
  entrypoint: string
  port: number
  version: string
  labels?: Record<string, string>
}

/** A layer gzipped once, with the digest of its uncompressed tar (the config's diff_id). */
export interface CompressedLayer {
  gz: Buffer
  diffId: string
}

/** Compresses a layer tar reproducibly (see gzipReproducible); what imageFromLayer does with a tar. */
export function compressLayer(layerTar: Buffer): CompressedLayer {
  return { gz: gzipReproducible(layerTar), diffId: digestOf(layerTar) }
}

/**
 * Builds one platform's image from an uncompressed layer tar (or one compressed before, to
 * skip gzip -9 of the binary on a rebuild): layer blob, config blob and manifest blob. Pure:
 * same inputs → same digests.
 *
 *   const img = imageFromLayer(tar, { platform: { os: 'linux', architecture: 'arm64' }, entrypoint: '/app', port: 8080, version: '2.0' })
 *   img.manifest.mediaType → 'application/vnd.oci.image.manifest.v1+json'
 */
export function imageFromLayer(
  layerTar: Buffer | CompressedLayer,
  spec: ImageSpec,
): { layer: Blob; config: Blob; manifest: Blob } {
  const compressed = Buffer.isBuffer(layerTar) ? compressLayer(layerTar) : layerTar
  const layer = blob(MEDIA.layer, compressed.gz)
  const labels = {
    'org.opencontainers.image.version': spec.version,
    'org.opencontainers.image.title': 'kubeapp',
    ...(spec.labels ?? {}),
  }
  const configDoc = {
    architecture: spec.platform.architecture,
    os: spec.platform.os,
    ...(spec.platform.variant ? { variant: spec.platform.variant } : {}),
    created: '1970-01-01T00:00:00Z',
    config: {
      User: `${NONROOT}:${NONROOT}`,
      Entrypoint: [spec.entrypoint],
      Env: ['PATH=/', `PORT=${spec.port}`],
      ExposedPorts: { [`${spec.port}/tcp`]: {} },
      WorkingDir: '/',
      Labels: sortKeys(labels),
    },
    rootfs: { type: 'layers', diff_ids: [compressed.diffId] },
    history: [{ created: '1970-01-01T00:00:00Z', created_by: 'edgecanary build', comment: 'go binary' }],
  }
  const config = blob(MEDIA.config, Buffer.from(JSON.stringify(configDoc)))
  const manifestDoc = {
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: { mediaType: MEDIA.config, digest: config.digest, size: config.size },
    layers: [{ mediaType: MEDIA.layer, digest: layer.digest, size: layer.size }],
    annotations: { 'org.opencontainers.image.version': spec.version },
  }
  const manifest = blob(MEDIA.manifest, Buffer.from(JSON.stringify(manifestDoc)))
  return { layer, config, manifest }
}

/**
 * An OCI image index over per-platform manifests, in the order given.
 *
 *   imageIndex([{ manifest, platform: { os: 'linux', architecture: 'arm64' } }]).mediaType → MEDIA.index
 */
export function imageIndex(entries: { manifest: Blob; platform: Platform }[]): Blob {
  const doc = {
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: entries.map((e) => ({
      mediaType: e.manifest.mediaType,
      digest: e.manifest.digest,
      size: e.manifest.size,
      platform: e.platform,
    })),
  }
  return blob(MEDIA.index, Buffer.from(JSON.stringify(doc)))
}

/**
 * Parses `linux/arm64`, `linux/arm/v7`, `linux/amd64` into a Platform with Go's names.
 *
 *   parsePlatform('linux/arm/v7') → { os: 'linux', architecture: 'arm', variant: 'v7' }
 */
export function parsePlatform(text: string): Platform | undefined {
  const m = /^(linux)\/(arm64|amd64|arm|386|riscv64|ppc64le|s390x)(?:\/(v[5-8]))?$/.exec(text.trim())
  if (!m) return undefined
  if (m[3] && m[2] !== 'arm' && !(m[2] === 'arm64' && m[3] === 'v8')) return undefined
  return { os: m[1], architecture: m[2], ...(m[3] && m[2] === 'arm' ? { variant: m[3] } : {}) }
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)))
}
