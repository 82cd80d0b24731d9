import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { dirname, join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import type { PullEndpoint } from '../core/registry-mirrors.js'
import { dockerConfigCredentials } from './auth.js'
import { RegistryClient } from './client.js'
import { parseImageRef } from './reference.js'
import { applyLayer } from './unpack.js'
import { checkBlob, checkDigest, manifestDigest, VerificationError } from './verify.js'

export interface ImagePlatform {
  os: string
  architecture: string
  variant?: string
}

export interface PulledImage {
  digest: string
  rootfs: string
  platform: ImagePlatform
  config: {
    Entrypoint?: string[]
    Cmd?: string[]
    Env?: string[]
    WorkingDir?: string
    User?: string
    ExposedPorts?: Record<string, object>
  }
}

/** The manifest (or the repository) is unknown to the registry: kubelets report ErrImagePull. */
export class ImageNotFoundError extends Error {}
/** An index with no entry for the node's platform, as containerd says it. */
export class PlatformMismatchError extends Error {}

interface Descriptor {
  mediaType?: string
  digest: string
  size?: number
  platform?: ImagePlatform
}

/**
 * Pulls an image for a platform: resolves tag or digest, picks the platform from an index,
 * downloads and verifies blobs (cached by digest), and unpacks the layers into a rootfs
 * directory per manifest digest (cached too). A single-platform manifest of another
 * architecture still pulls, as on a real node; running it is the kubelet's problem.
 *
 * Nothing the registry says is trusted: every digest is syntax-checked before a path is built
 * from it, manifest bytes are hashed against the digest asked for (or the tag's
 * Docker-Content-Digest), blobs against theirs, and layers are applied without ever writing
 * through a symlink (src/registry/unpack.ts). Plain HTTP only for loopback registries and
 * `insecure`, as k3s's registries.yaml allows. Any failure rejects (the kubelet's ErrImagePull).
 */
export async function pullImage(
  ref: string,
  opts: {
    platform: ImagePlatform
    cacheDir: string
    insecure?: boolean
    signal?: AbortSignal
    /** Where to look, in order (registry mirrors, see src/core/registry-mirrors.ts); default: the registry itself. */
    endpoints?: PullEndpoint[]
  },
): Promise<PulledImage> {
  const r = parseImageRef(ref)
  const reference = r.digest ?? r.tag ?? 'latest'
  const endpoints: PullEndpoint[] = opts.endpoints?.length
    ? opts.endpoints
    : [{ host: r.registry, scheme: 'https', repository: r.repository, reference, upstream: true }]
  // as containerd does with a mirror list: the first endpoint that has the manifest serves the pull
  let client: RegistryClient | undefined
  let top: Awaited<ReturnType<RegistryClient['getManifest']>>
  let lastError: unknown
  const failures: string[] = []
  for (const ep of endpoints) {
    let c: RegistryClient
    try {
      c = new RegistryClient({
        registry: ep.host,
        repository: ep.repository,
        insecure: ep.upstream ? opts.insecure : ep.scheme === 'http',
        // a mirror endpoint says its scheme; the registry itself keeps the loopback/insecure rule
        ...(ep.upstream ? {} : { scheme: ep.scheme }),
        ...(ep.tls ? { tls: tlsOptions(ep.tls) } : {}),
        credentials: ep.credentials ?? dockerConfigCredentials(ep.host),
        retries: 1,
        signal: opts.signal,
      })
      top = await c.getManifest(ep.reference)
    } catch (err) {
      lastError = err
      failures.push(`${ep.host}: ${(err as Error).message}`)
      continue
    }
    if (top) {
      client = c
      break
    }
  }
  if (!client || !top) {
    if (lastError && endpoints.length === 1) throw lastError
    throw new ImageNotFoundError(
      `${ref}: not found${endpoints.length > 1 ? ` at ${endpoints.map((e) => `${e.host}/${e.repository}`).join(', ')}` : ''}${failures.length ? ` (${failures.join('; ')})` : ''}`,
    )
  }
  let digest = manifestDigest(top.bytes, { asked: r.digest, header: top.digest })
  let doc = parseManifest(top.bytes)
  if (doc.manifests) {
    const want = opts.platform
    const match = doc.manifests.find(
      (m) =>
        m.platform?.os === want.os &&
        m.platform?.architecture === want.architecture &&
        (!want.variant || !m.platform?.variant || m.platform.variant === want.variant),
    )
    if (!match) {
      throw new PlatformMismatchError(
        `no match for platform in manifest: not found (${want.os}/${want.architecture}${want.variant ? `/${want.variant}` : ''})`,
      )
    }
    const child = checkDigest(match.digest, 'an index entry')
    top = await client.getManifest(child)
    if (!top) throw new ImageNotFoundError(`${ref}: platform manifest ${child} not found`)
    digest = manifestDigest(top.bytes, { asked: child })
    doc = parseManifest(top.bytes)
  }
  if (!doc.config || !Array.isArray(doc.layers)) throw new ImageNotFoundError(`${ref}: not an image manifest`)
  const configDigest = checkDigest(doc.config.digest, 'the image config')
  const layerDigests = doc.layers.map((l) => checkDigest(l.digest, 'a layer'))
  const configBytes = await cachedBlob(client, opts.cacheDir, configDigest)
  let configDoc: { os: string; architecture: string; variant?: string; config?: PulledImage['config'] }
  try {
    configDoc = JSON.parse(configBytes.toString('utf8'))
  } catch {
    throw new VerificationError(`image config ${configDigest} is not JSON`)
  }
  const rootfs = join(opts.cacheDir, 'rootfs', digest.replace(':', '-'))
  if (!existsSync(join(rootfs, '.complete'))) {
    // unique per pull (mkdtemp): two kubelets of one sandbox pulling the same image in the same
    // millisecond shared a pid-and-time name, and the first to finish moved the other's files away
    mkdirSync(dirname(rootfs), { recursive: true })
    const tmp = mkdtempSync(`${rootfs}.tmp-`)
    try {
      for (let i = 0; i < layerDigests.length; i++) {
        const bytes = await cachedBlob(client, opts.cacheDir, layerDigests[i])
        let tar: Buffer
        try {
          tar = doc.layers[i].mediaType?.endsWith('gzip') || isGzip(bytes) ? gunzipSync(bytes) : bytes
        } catch (err) {
          throw new VerificationError(`layer ${layerDigests[i]}: ${(err as Error).message}`)
        }
        await applyLayer(tar, tmp)
      }
      writeFileSync(join(tmp, '.complete'), digest)
      mkdirSync(dirname(rootfs), { recursive: true })
      publishRootfs(tmp, rootfs)
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true })
      throw err
    }
  }
  return {
    digest,
    rootfs,
    platform: { os: configDoc.os, architecture: configDoc.architecture, variant: configDoc.variant },
    config: configDoc.config ?? {},
  }
}

/**
 * Moves a finished unpack into place. Another pull of the same image may have finished first,
 * and running containers use its directory as their lower layer: a complete rootfs is never
 * replaced, only a leftover incomplete one.
 */
function publishRootfs(tmp: string, rootfs: string): void {
  try {
    renameSync(tmp, rootfs)
    return
  } catch {}
  if (existsSync(join(rootfs, '.complete'))) {
    rmSync(tmp, { recursive: true, force: true })
    return
  }
  rmSync(rootfs, { recursive: true, force: true })
  renameSync(tmp, rootfs)
}

interface ManifestDoc {
  mediaType?: string
  manifests?: Descriptor[]
  config?: Descriptor
  layers?: Descriptor[]
}

function parseManifest(bytes: Buffer): ManifestDoc {
  try {
    const doc = JSON.parse(bytes.toString('utf8')) as unknown
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) return doc as ManifestDoc
  } catch {}
  throw new VerificationError('the manifest is not a JSON object')
}

/** A blob by its (syntax-checked) digest, verified before it is cached or used. */
async function cachedBlob(client: RegistryClient, cacheDir: string, digest: string): Promise<Buffer> {
  const file = join(cacheDir, 'blobs', checkDigest(digest, 'a blob').replace(':', '-'))
  if (existsSync(file)) return readFileSync(file)
  const bytes = await client.getBlob(digest)
  checkBlob(bytes, digest)
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(`${file}.tmp`, bytes)
  renameSync(`${file}.tmp`, file)
  return bytes
}

/** registries.yaml `tls` of an endpoint as Node's TLS options: the PEM files read (at most 1 MiB each). */
function tlsOptions(t: NonNullable<PullEndpoint['tls']>): {
  ca?: string
  cert?: string
  key?: string
  rejectUnauthorized?: boolean
} {
  const pem = (file: string | undefined) => {
    if (!file) return undefined
    if (statSync(file).size > 1024 * 1024) throw new Error(`${file}: larger than 1 MiB, not a PEM file`)
    return readFileSync(file, 'utf8')
  }
  return {
    ...(t.caFile ? { ca: pem(t.caFile) } : {}),
    ...(t.certFile ? { cert: pem(t.certFile) } : {}),
    ...(t.keyFile ? { key: pem(t.keyFile) } : {}),
    ...(t.insecureSkipVerify ? { rejectUnauthorized: false } : {}),
  }
}

function isGzip(b: Buffer): boolean {
  return b.length > 2 && b[0] === 0x1f && b[1] === 0x8b
}
