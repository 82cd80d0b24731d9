import { randomUUID } from 'node:crypto'
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
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
const NAME = '[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*'
const ROUTE = new RegExp(`^/v2/(${NAME})/(blobs/uploads/?|blobs|manifests|tags/list)(?:/([^/?]+))?$`)

/** Loopback, or one of this machine's own interface addresses (IPv4-mapped IPv6 included). */
export function isLocalAddress(address: string | undefined): boolean {
  if (!address) return false
  const a = address.replace(/^::ffff:/, '')
  if (a === '::1' || a.startsWith('127.')) return true
  return Object.values(networkInterfaces()).some((list) => (list ?? []).some((i) => i.address === a))
}

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
   * `local`: only this machine (loopback or one of its own addresses) may push or delete;
   * others may pull. For a registry served on the LAN (`registry up --address`), so the Pis
   * can pull but nobody else on the network can overwrite an image.
   */
  writers?: 'any' | 'local'
}): Promise<EmbeddedRegistry> {
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
      opts.writers === 'local' &&
      !['GET', 'HEAD'].includes(method) &&
      !isLocalAddress(req.socket.remoteAddress)
    ) {
      return send(res, 403, {
        errors: [
          { code: 'DENIED', message: 'this registry takes pushes only from the machine that serves it' },
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
        const body = await readBody(req)
        const digest = url.searchParams.get('digest')
        if (digest) return finishUpload(res, name, body, digest)
        const id = randomUUID()
        writeFileSync(join(dir, 'uploads', id), body)
        res.writeHead(202, {
          location: `/v2/${name}/blobs/uploads/${id}`,
          range: '0-0',
          'docker-upload-uuid': id,
        })
        return void res.end()
      }
      const upload = ref ? join(dir, 'uploads', ref) : ''
      if (!ref || !existsSync(upload))
        return send(res, 404, { errors: [{ code: 'BLOB_UPLOAD_UNKNOWN', message: ref ?? '' }] })
      const body = await readBody(req)
      if (body.length > 0) appendFileSync(upload, body)
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
        const body = await readBody(req)
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
      send(res, 400, { errors: [{ code: 'DIGEST_INVALID', message: 'digest did not match content' }] })
      return
    }
    writeAtomic(blobFile(digest), body)
    if (upload) renameSync(upload, `${upload}.done`)
    res.writeHead(201, { location: `/v2/${name}/blobs/${digest}`, 'docker-content-digest': digest })
    res.end()
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

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
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
