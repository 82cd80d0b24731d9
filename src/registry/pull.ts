import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { extract } from 'tar-stream'
import { digestOf } from '../build/oci-image.js'
import type { PullEndpoint } from '../core/registry-mirrors.js'
import { dockerConfigCredentials } from './auth.js'
import { RegistryClient } from './client.js'
import { parseImageRef } from './reference.js'

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
  let doc = JSON.parse(top.bytes.toString('utf8')) as {
    mediaType?: string
    manifests?: Descriptor[]
    config?: Descriptor
    layers?: Descriptor[]
  }
  let manifestDigest = top.digest ?? digestOf(top.bytes)
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
    top = await client.getManifest(match.digest)
    if (!top) throw new ImageNotFoundError(`${ref}: platform manifest ${match.digest} not found`)
    manifestDigest = match.digest
    doc = JSON.parse(top.bytes.toString('utf8'))
  }
  if (!doc.config || !doc.layers) throw new ImageNotFoundError(`${ref}: not an image manifest`)
  const configBytes = await cachedBlob(client, opts.cacheDir, doc.config.digest)
  const configDoc = JSON.parse(configBytes.toString('utf8')) as {
    os: string
    architecture: string
    variant?: string
    config?: PulledImage['config']
  }
  const rootfs = join(opts.cacheDir, 'rootfs', manifestDigest.replace(':', '-'))
  if (!existsSync(join(rootfs, '.complete'))) {
    const tmp = `${rootfs}.tmp-${process.pid}-${Date.now()}`
    mkdirSync(tmp, { recursive: true })
    for (const layer of doc.layers) {
      const bytes = await cachedBlob(client, opts.cacheDir, layer.digest)
      const tar = layer.mediaType?.endsWith('gzip') || isGzip(bytes) ? gunzipSync(bytes) : bytes
      await unpack(tar, tmp)
    }
    writeFileSync(join(tmp, '.complete'), manifestDigest)
    rmSync(rootfs, { recursive: true, force: true })
    mkdirSync(dirname(rootfs), { recursive: true })
    renameSync(tmp, rootfs)
  }
  return {
    digest: manifestDigest,
    rootfs,
    platform: { os: configDoc.os, architecture: configDoc.architecture, variant: configDoc.variant },
    config: configDoc.config ?? {},
  }
}

async function cachedBlob(client: RegistryClient, cacheDir: string, digest: string): Promise<Buffer> {
  const file = join(cacheDir, 'blobs', digest.replace(':', '-'))
  if (existsSync(file)) return readFileSync(file)
  const bytes = await client.getBlob(digest)
  if (digestOf(bytes) !== digest) throw new Error(`blob ${digest} failed verification`)
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(`${file}.tmp`, bytes)
  renameSync(`${file}.tmp`, file)
  return bytes
}

/** Extracts regular files and directories; refuses paths that leave the root. */
async function unpack(tar: Buffer, root: string): Promise<void> {
  const ex = extract()
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = []
      stream.on('data', (c: unknown) => chunks.push(c as Buffer))
      stream.on('end', () => {
        const rel = normalize(header.name).replace(/^(\.\.(\/|$))+/, '')
        if (rel.startsWith('/') || rel.split('/').includes('..')) return next()
        const target = join(root, rel)
        // a symlink unpacked earlier must not lead a later entry out of the root
        if (!rel || throughSymlink(root, rel)) return next()
        if (header.type === 'directory') mkdirSync(target, { recursive: true })
        else if (header.type === 'file') {
          mkdirSync(dirname(target), { recursive: true })
          unlinkEntry(target)
          writeFileSync(target, Buffer.concat(chunks))
          chmodSync(target, (header.mode ?? 0o644) & 0o777)
        } else if (header.type === 'symlink' && header.linkname) {
          // busybox-style images link their applets (`bin/sh -> busybox`)
          mkdirSync(dirname(target), { recursive: true })
          unlinkEntry(target)
          symlinkSync(header.linkname, target)
        }
        next()
      })
    })
    ex.on('finish', () => resolve())
    ex.on('error', reject)
  })
  ex.end(tar)
  await done
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

/** Removes a file or symlink in the way of an entry (a later layer replaces it); directories stay. */
function unlinkEntry(target: string): void {
  try {
    if (!lstatSync(target).isDirectory()) rmSync(target)
  } catch {}
}

/** Whether a parent directory of `rel` inside `root` is a symlink (writing through it could leave the root). */
function throughSymlink(root: string, rel: string): boolean {
  const parts = rel.split('/').filter(Boolean).slice(0, -1)
  let cur = root
  for (const p of parts) {
    cur = join(cur, p)
    try {
      if (lstatSync(cur).isSymbolicLink()) return true
    } catch {
      return false
    }
  }
  return false
}

function isGzip(b: Buffer): boolean {
  return b.length > 2 && b[0] === 0x1f && b[1] === 0x8b
}
