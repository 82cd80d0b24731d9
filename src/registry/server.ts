import { randomUUID, timingSafeEqual } from 'node:crypto'
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { networkInterfaces } from 'node:os'
import { join } from 'node:path'
import { digestOf } from '../build/oci-image.js'

export interface EmbeddedRegistry {
  url: string
  host: string
  port: number
  /** While down, every request is answered 503 (the sandbox's "registry down" fault). */
  setDown(down: boolean): void
  close(): Promise<void>
}

const DIGEST = /^sha256:[a-f0-9]{64}$/
/** The OCI distribution spec's tag grammar. */
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/
/** Default largest blob an upload may grow to (configurable with `maxBlobBytes`). */
export const DEFAULT_MAX_BLOB_BYTES = 512 * 1024 * 1024
/** Largest manifest taken (as distribution's registry). */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024

/**
 * Anyone may pull; only loopback may push or delete without `pushToken` — for a registry served
 * on the LAN (`registry up --address`), the Pis pull but nobody else on the network overwrites an image.
 * Loopback only: 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false
  const a = address.replace(/^::ffff:/, '')
  return a === '::1' || a.startsWith('127.')
}

/**
 * A connection from this machine itself: loopback, or one of its own interface addresses (the
 * laptop pushing to its `registry up` on its LAN address; Linux routes that over lo, and a TCP
 * peer on the LAN cannot take such a source address). Anyone else needs the push token.
 */
export function fromThisMachine(address: string | undefined): boolean {
  if (isLoopback(address)) return true
  const a = address?.replace(/^::ffff:/, '')
  return Object.values(networkInterfaces()).some((list) => (list ?? []).some((i) => i.address === a))
}

/**
 * Whether a request carries the push token: `Authorization: Bearer <token>`, or Basic with the
 * token as password (what `docker login -p <token>` sends), compared in constant time.
 *
 *   hasPushToken('Bearer s3cret', 's3cret') → true;  hasPushToken(undefined, 's3cret') → false
 */
export function hasPushToken(authorization: string | undefined, token: string | undefined): boolean {
  if (!authorization || !token) return false
  const [scheme, value = ''] = authorization.split(' ')
  let given = ''
  if (scheme.toLowerCase() === 'bearer') given = value
  else if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8')
    given = decoded.slice(decoded.indexOf(':') + 1)
  }
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * What the OCI spec asks of a manifest body: a JSON object with schemaVersion 2 and either a
 * config and layers (image manifest) or manifests (index), each a descriptor with a
 * mediaType, a sha256 digest and a size. Returns the problem, or undefined.
 *
 *   manifestProblem(Buffer.from('{}')) → 'schemaVersion must be 2'
 */
export function manifestProblem(body: Buffer): string | undefined {
  let doc: unknown
  try {
    doc = JSON.parse(body.toString('utf8'))
  } catch {
    return 'the manifest is not JSON'
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return 'the manifest is not a JSON object'
  const m = doc as { schemaVersion?: unknown; config?: unknown; layers?: unknown; manifests?: unknown }
  if (m.schemaVersion !== 2) return 'schemaVersion must be 2'
  const descriptorProblem = (d: unknown, at: string): string | undefined => {
    const x = d as { mediaType?: unknown; digest?: unknown; size?: unknown } | null
    if (!x || typeof x !== 'object') return `${at} is not a descriptor`
    if (typeof x.mediaType !== 'string') return `${at}.mediaType is missing`
    if (typeof x.digest !== 'string' || !DIGEST.test(x.digest)) return `${at}.digest is not a sha256 digest`
    if (typeof x.size !== 'number' || !Number.isInteger(x.size) || x.size < 0)
      return `${at}.size is not a size`
    return undefined
  }
  if (Array.isArray(m.manifests)) {
    for (const [i, d] of m.manifests.entries()) {
      const p = descriptorProblem(d, `manifests[${i}]`)
      if (p) return p
    }
    return undefined
  }
  const c = descriptorProblem(m.config, 'config')
  if (c) return c
  if (!Array.isArray(m.layers)) return 'layers is missing'
  for (const [i, d] of m.layers.entries()) {
    const p = descriptorProblem(d, `layers[${i}]`)
    if (p) return p
  }
  return undefined
}
const NAME = '[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*'
const ROUTE = new RegExp(`^/v2/(${NAME})/(blobs/uploads/?|blobs|manifests|tags/list)(?:/([^/?]+))?$`)

/**
 * An OCI distribution registry on the file system: enough of the spec for `edgecanary build`,
 * the sandbox kubelets, skopeo and docker (blobs, monolithic and chunked uploads, manifests by
 * tag and digest, tags/list, _catalog). Storage: `<dir>/blobs/sha256-…`, `<dir>/repos/<name>/`.
 */
export async function startRegistry(opts: {
  dir: string
  host?: string
  port?: number
  /**
   * A token that lets other machines push (Bearer, or Basic with it as password); loopback needs none. */
  pushToken?: string
  /** Largest blob an upload may grow to; default 512 MiB. Checked while the upload streams. */
  maxBlobBytes?: number
}): Promise<EmbeddedRegistry> {
  const maxBlob = opts.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES
  const dir = opts.dir
  for (const d of ['blobs', 'uploads', 'repos']) mkdirSync(join(dir, d), { recursive: true })
  let down = false
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { errors: [{ code: 'UNKNOWN', message: String(err) }] })
      else res.destroy()
    })
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://registry')
    res.setHeader('docker-distribution-api-version', 'registry/2.0')
    if (down)
      return send(res, 503, { errors: [{ code: 'UNAVAILABLE', message: 'registry down (sandbox fault)' }] })
    if (url.pathname === '/v2/' || url.pathname === '/v2') return send(res, 200, {})
    if (url.pathname === '/v2/_catalog') {
      return send(res, 200, { repositories: listRepos(join(dir, 'repos')) })
    }
    const m = ROUTE.exec(url.pathname)
    if (!m) return send(res, 404, { errors: [{ code: 'NAME_UNKNOWN', message: 'not found' }] })
    const [, name, kind, ref] = m
    const repoDir = join(dir, 'repos', name)
    const method = req.method ?? 'GET'
    if (
      !['GET', 'HEAD'].includes(method) &&
      !fromThisMachine(req.socket.remoteAddress) &&
      !hasPushToken(req.headers.authorization, opts.pushToken)
    ) {
      req.resume()
      res.setHeader('www-authenticate', 'Basic realm="edgecanary-registry"')
      return send(res, opts.pushToken ? 401 : 403, {
        errors: [
          opts.pushToken
            ? { code: 'UNAUTHORIZED', message: 'pushes from other machines need the registry push token' }
            : { code: 'DENIED', message: 'this registry takes pushes only from the machine that serves it' },
        ],
      })
    }
    if (kind === 'manifests' && ref && !DIGEST.test(ref) && !TAG.test(ref)) {
      req.resume()
      return send(res, method === 'PUT' ? 400 : 404, {
        errors: [
          method === 'PUT'
            ? { code: 'TAG_INVALID', message: `${JSON.stringify(ref)} is not a valid tag` }
            : { code: 'MANIFEST_UNKNOWN', message: `manifest unknown: ${ref}` },
        ],
      })
    }

    if (kind === 'tags/list') {
      const tagsDir = join(repoDir, 'tags')
      if (!existsSync(tagsDir)) return send(res, 404, { errors: [{ code: 'NAME_UNKNOWN', message: name }] })
      return send(res, 200, { name, tags: readdirSync(tagsDir).sort() })
    }

    if (kind === 'blobs' && ref) {
      const file = blobFile(ref)
      if (!DIGEST.test(ref) || !existsSync(file)) {
        return send(res, 404, { errors: [{ code: 'BLOB_UNKNOWN', message: ref }] })
      }
      const size = statSync(file).size
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': size,
        'docker-content-digest': ref,
      })
      if (method === 'HEAD') return void res.end()
      return void res.end(readFileSync(file))
    }

    if (kind.startsWith('blobs/uploads')) {
      if (method === 'POST' && !ref) {
        const id = randomUUID()
        const upload = join(dir, 'uploads', id)
        if (!(await appendLimited(req, res, upload, 0))) return
        const digest = url.searchParams.get('digest')
        if (digest) return finishUpload(res, name, readFileSync(upload), digest, upload)
        res.writeHead(202, {
          location: `/v2/${name}/blobs/uploads/${id}`,
          range: '0-0',
          'docker-upload-uuid': id,
        })
        return void res.end()
      }
      const upload = ref && /^[0-9a-f-]{36}$/.test(ref) ? join(dir, 'uploads', ref) : ''
      if (!upload || !existsSync(upload)) {
        req.resume()
        return send(res, 404, { errors: [{ code: 'BLOB_UPLOAD_UNKNOWN', message: ref ?? '' }] })
      }
      if (!(await appendLimited(req, res, upload, statSync(upload).size))) return
      if (method === 'PATCH') {
        const size = statSync(upload).size
        res.writeHead(202, {
          location: `/v2/${name}/blobs/uploads/${ref}`,
          range: `0-${Math.max(0, size - 1)}`,
        })
        return void res.end()
      }
      if (method === 'PUT') {
        const digest = url.searchParams.get('digest') ?? ''
        return finishUpload(res, name, readFileSync(upload), digest, upload)
      }
      return send(res, 405, { errors: [{ code: 'UNSUPPORTED', message: method }] })
    }

    if (kind === 'manifests' && ref) {
      if (method === 'PUT') {
        const body = await readBody(req, MAX_MANIFEST_BYTES)
        if (!body)
          return send(res, 413, {
            errors: [{ code: 'SIZE_INVALID', message: `a manifest is at most ${MAX_MANIFEST_BYTES} bytes` }],
          })
        const problem = manifestProblem(body)
        if (problem) return send(res, 400, { errors: [{ code: 'MANIFEST_INVALID', message: problem }] })
        const digest = digestOf(body)
        if (DIGEST.test(ref) && ref !== digest) {
          return send(res, 400, { errors: [{ code: 'DIGEST_INVALID', message: 'manifest digest mismatch' }] })
        }
        const mediaType = (req.headers['content-type'] ?? 'application/vnd.oci.image.manifest.v1+json').split(
          ';',
        )[0]
        writeAtomic(blobFile(digest), body)
        mkdirSync(join(repoDir, 'manifests'), { recursive: true })
        writeAtomic(join(repoDir, 'manifests', digest.replace(':', '-')), Buffer.from(mediaType))
        if (!DIGEST.test(ref)) {
          mkdirSync(join(repoDir, 'tags'), { recursive: true })
          writeAtomic(join(repoDir, 'tags', ref), Buffer.from(digest))
        }
        res.writeHead(201, { location: `/v2/${name}/manifests/${digest}`, 'docker-content-digest': digest })
        return void res.end()
      }
      const digest = DIGEST.test(ref) ? ref : readIf(join(repoDir, 'tags', ref))
      const typeFile = digest ? join(repoDir, 'manifests', digest.replace(':', '-')) : ''
      if (!digest || !existsSync(typeFile)) {
        return send(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: `manifest unknown: ${ref}` }] })
      }
      const body = readFileSync(blobFile(digest))
      res.writeHead(200, {
        'content-type': readFileSync(typeFile, 'utf8'),
        'content-length': body.length,
        'docker-content-digest': digest,
      })
      if (method === 'HEAD') return void res.end()
      return void res.end(body)
    }
    return send(res, 404, { errors: [{ code: 'UNSUPPORTED', message: url.pathname }] })
  }

  function finishUpload(
    res: ServerResponse,
    name: string,
    body: Buffer,
    digest: string,
    upload?: string,
  ): void {
    if (!DIGEST.test(digest) || digestOf(body) !== digest) {
      if (upload) unlinkSync(upload)
      send(res, 400, { errors: [{ code: 'DIGEST_INVALID', message: 'digest did not match content' }] })
      return
    }
    writeAtomic(blobFile(digest), body)
    if (upload) unlinkSync(upload)
    res.writeHead(201, { location: `/v2/${name}/blobs/${digest}`, 'docker-content-digest': digest })
    res.end()
  }

  /**
   * Streams a request body onto the end of an upload file, refusing (413, and the upload
   * removed) as soon as the blob would pass maxBlobBytes. Returns false when it answered.
   */
  async function appendLimited(
    req: IncomingMessage,
    res: ServerResponse,
    file: string,
    start: number,
  ): Promise<boolean> {
    const declared = Number(req.headers['content-length'] ?? 0)
    let size = start
    const tooBig = () => {
      req.resume()
      if (existsSync(file)) unlinkSync(file)
      send(res, 413, {
        errors: [{ code: 'SIZE_INVALID', message: `a blob is at most ${maxBlob} bytes on this registry` }],
      })
      return false
    }
    if (start + declared > maxBlob) return tooBig()
    const out = createWriteStream(file, { flags: 'a' })
    try {
      for await (const c of req) {
        size += (c as Buffer).length
        if (size > maxBlob) {
          out.destroy()
          return tooBig()
        }
        if (!out.write(c)) await new Promise<void>((r) => out.once('drain', () => r()))
      }
    } finally {
      await new Promise<void>((r) => out.end(() => r()))
    }
    return true
  }

  function blobFile(digest: string): string {
    return join(dir, 'blobs', digest.replace(':', '-'))
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  const host = opts.host ?? '127.0.0.1'
  return {
    url: `http://${host}:${port}`,
    host,
    port,
    setDown: (d) => {
      down = d
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** A request body of at most `limit` bytes, or undefined when it is larger (the rest is drained). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of req) {
    size += (c as Buffer).length
    if (size > limit) {
      req.resume()
      return undefined
    }
    chunks.push(c as Buffer)
  }
  return Buffer.concat(chunks)
}

function writeAtomic(file: string, bytes: Buffer): void {
  const tmp = `${file}.tmp-${randomUUID()}`
  writeFileSync(tmp, bytes)
  renameSync(tmp, file)
}

function readIf(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined
}

function listRepos(root: string, prefix = ''): string[] {
  if (!existsSync(root)) return []
  const out: string[] = []
  for (const e of readdirSync(root, { withFileTypes: true })) {
    if (!e.isDirectory()) continue
    const name = prefix ? `${prefix}/${e.name}` : e.name
    if (existsSync(join(root, e.name, 'tags'))) out.push(name)
    out.push(...listRepos(join(root, e.name), name).filter((n) => n !== name))
  }
  return out.filter((n) => !n.endsWith('/tags') && !n.endsWith('/manifests')).sort()
}
