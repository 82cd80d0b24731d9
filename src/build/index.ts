import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { UsageError } from '../errors.js'
import type { Progress } from '../ports.js'
import { silentProgress } from '../ports.js'
import type { Credentials } from '../registry/auth.js'
import { RegistryClient } from '../registry/client.js'
import { dockerCredentials } from '../registry/docker-credentials.js'
import { assertValidVersion, parseImageRef } from '../registry/reference.js'
import { crossCompile } from './go-build.js'
import {
  type CompressedLayer,
  compressLayer,
  formatPlatform,
  imageFromLayer,
  imageIndex,
  type Platform,
  parsePlatform,
  tarLayer,
} from './oci-image.js'
import { gitRevision, sourceFacts, sourceLabel } from './source-info.js'

export interface BuildOptions {
  source: string
  version: string
  /** HOST[:PORT]/NAME without tag. */
  repo: string
  platforms: string[]
  cacheDir: string
  insecure?: boolean
  credentials?: Credentials
  port?: number
  progress?: Progress
  /** Nothing is sent to the registry before this resolves; if it rejects, the build stops with its error. */
  pushAfter?: Promise<unknown>
  /** Aborting kills a compile still running. */
  signal?: AbortSignal
}

export interface BuildResult {
  /** `repo:version@sha256:…` — deploy by this. */
  image: string
  digest: string
  platforms: string[]
  /** Sum of compressed layer sizes, bytes. */
  compressedSize: number
  blobsUploaded: number
  blobsSkipped: number
  compiled: number
  cached: number
}

/** Validates the platform list: `linux/arm64,linux/arm/v7` → Platform[]; UsageError otherwise. */
export function parsePlatforms(list: string[]): Platform[] {
  const out: Platform[] = []
  for (const text of list.flatMap((x) => x.split(',')).filter(Boolean)) {
    const p = parsePlatform(text)
    if (!p) {
      throw new UsageError(`unknown platform "${text}"`, {
        hint: 'use linux/arm64, linux/arm/v7, linux/amd64 (comma-separated for a multi-platform index)',
      })
    }
    out.push(p)
  }
  if (out.length === 0) throw new UsageError('no platform given', { hint: 'e.g. --platform linux/arm64' })
  return out
}

/**
 * The image layer of a compiled binary (`/app`, mode 0755), kept beside the binary in the
 * cache: the binary's file name is the hash of its inputs, so the layer never goes stale, and
 * an unchanged rebuild skips gzip -9 of several MiB.
 */
async function binaryLayer(binary: string): Promise<CompressedLayer> {
  const gzFile = `${binary}.layer.gz`
  const idFile = `${binary}.layer.diffid`
  if (existsSync(gzFile) && existsSync(idFile)) {
    const diffId = readFileSync(idFile, 'utf8').trim()
    if (/^sha256:[0-9a-f]{64}$/.test(diffId)) return { gz: readFileSync(gzFile), diffId }
  }
  const layer = compressLayer(await tarLayer([{ path: 'app', mode: 0o755, data: readFileSync(binary) }]))
  const tmp = `.tmp-${process.pid}`
  writeFileSync(gzFile + tmp, layer.gz)
  renameSync(gzFile + tmp, gzFile)
  writeFileSync(idFile + tmp, layer.diffId)
  renameSync(idFile + tmp, idFile)
  return layer
}

/**
 * ko-style build: cross-compile per platform, one reproducible layer, OCI config and
 * manifest (an index when several platforms are asked), pushed with HEAD-before-upload.
 */
export async function buildAndPush(o: BuildOptions): Promise<BuildResult> {
  const progress = o.progress ?? silentProgress
  assertValidVersion(o.version)
  const platforms = parsePlatforms(o.platforms)
  const last = o.repo.split('/').pop() ?? ''
  if (o.repo.includes('@') || last.includes(':') || !o.repo.includes('/')) {
    throw new UsageError(`--repo "${o.repo}" must be HOST[:PORT]/NAME without a tag`, {
      hint: 'e.g. --repo 127.0.0.1:5000/kubeapp',
    })
  }
  const ref = parseImageRef(o.repo)
  const source = o.source
  const client = new RegistryClient({
    registry: ref.registry,
    repository: ref.repository,
    insecure: o.insecure,
    credentials: o.credentials ?? (await dockerCredentials(ref.registry)),
  })
  // git's answers (five small processes) come in while the compile step checks its cache
  const labels = Promise.all([gitRevision(source), sourceFacts(source).then(sourceLabel)])
  labels.catch(() => {})
  let compiled = 0
  let cached = 0
  // platforms compile side by side, as many at once as there are cores (go build's own
  // parallelism leaves the link and the serial parts of a small program's compile idle)
  const concurrency = Math.max(1, Math.min(platforms.length, availableParallelism()))
  const images = await mapLimit(platforms, concurrency, async (platform) => {
    const step = progress.step(`compile ${formatPlatform(platform)}`)
    const bin = await crossCompile({
      source,
      version: o.version,
      platform,
      cacheDir: o.cacheDir,
      signal: o.signal,
    })
    if (bin.cached) cached++
    else compiled++
    step.done(bin.cached ? 'unchanged, cached' : 'compiled')
    const [revision, sourceName] = await labels
    const img = imageFromLayer(await binaryLayer(bin.binary), {
      platform,
      entrypoint: '/app',
      port: o.port ?? 8080,
      version: o.version,
      labels: {
        'org.opencontainers.image.source': sourceName,
        ...(revision ? { 'org.opencontainers.image.revision': revision } : {}),
      },
    })
    return { manifest: img.manifest, platform, blobs: [img.layer, img.config] }
  })
  await o.pushAfter
  const push = progress.step(`push ${ref.registry}/${ref.repository}:${o.version}`)
  let uploaded = 0
  let skipped = 0
  // each blob once (platforms can share one), keyed by digest
  const blobs = [...new Map(images.flatMap((img) => img.blobs).map((b) => [b.digest, b])).values()]
  const top =
    images.length === 1
      ? images[0].manifest
      : imageIndex(images.map((i) => ({ manifest: i.manifest, platform: i.platform })))
  // the tag already names this very manifest (an unchanged rebuild): a registry keeps every
  // blob a manifest it accepted refers to, so there is nothing to send
  if ((await client.headManifest(o.version)) === top.digest) skipped = blobs.length
  else {
    // blobs are independent: ask for (and upload) them all at once
    await Promise.all(
      blobs.map(async (b) => {
        if (await client.hasBlob(b.digest)) skipped++
        else {
          await client.uploadBlob(b.digest, b.bytes)
          uploaded++
        }
      }),
    )
    if (images.length > 1)
      for (const img of images)
        await client.putManifest(img.manifest.digest, img.manifest.mediaType, img.manifest.bytes)
    const returned = await client.putManifest(o.version, top.mediaType, top.bytes)
    if (returned && returned !== top.digest) {
      throw new Error(`registry stored digest ${returned}, expected ${top.digest}`)
    }
  }
  push.done(`${uploaded} blob(s) uploaded, ${skipped} already there`)
  const compressedSize = images.reduce((n, i) => n + i.blobs[0].size, 0)
  return {
    image: `${ref.registry}/${ref.repository}:${o.version}@${top.digest}`,
    digest: top.digest,
    platforms: platforms.map(formatPlatform),
    compressedSize,
    blobsUploaded: uploaded,
    blobsSkipped: skipped,
    compiled,
    cached,
  }
}

/**
 * `fn` over `items` with at most `limit` running at once; results in the order of `items`.
 * The first rejection rejects the whole (the others still run to their end).
 */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i])
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}
