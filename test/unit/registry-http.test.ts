import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpFetch } from '../../src/registry/http.js'
import { freePort } from '../helpers/ports.js'

interface Seen {
  method?: string
  url?: string
  authorization?: string
  body: string
}

async function serve(
  handler: (req: IncomingMessage, body: string, res: import('node:http').ServerResponse) => void,
) {
  let connections = 0
  const seen: Seen[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString()
      seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization, body })
      handler(req, body, res)
    })
  })
  server.on('connection', () => connections++)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { server, base, seen, connections: () => connections }
}

describe('registry HTTP (node:http in place of fetch)', () => {
  let store: Awaited<ReturnType<typeof serve>>
  let registry: Awaited<ReturnType<typeof serve>>
  beforeAll(async () => {
    // a blob store on another origin, as S3 behind a registry's redirect
    store = await serve((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-from': 'store' })
      res.end('blob-bytes')
    })
    registry = await serve((req, body, res) => {
      if (req.url === '/v2/app/blobs/sha256:abc') {
        res.writeHead(307, { location: `${store.base}/bucket/abc?sig=1` })
        return res.end()
      }
      if (req.url === '/v2/app/blobs/uploads/' && req.method === 'POST') {
        res.writeHead(303, { location: '/v2/app/after-upload' })
        return res.end()
      }
      if (req.url === '/v2/app/same-origin') {
        res.writeHead(308, { location: '/v2/app/echo' })
        return res.end()
      }
      if (req.url === '/v2/app/manifests/1.0' && req.method === 'HEAD') {
        res.writeHead(200, { 'docker-content-digest': 'sha256:def', 'content-length': '512' })
        return res.end()
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({ method: req.method, url: req.url, body, auth: req.headers.authorization ?? null }),
      )
    })
  })
  afterAll(() => {
    store.server.close()
    registry.server.close()
  })

  it('follows a redirect to another origin without the registry credentials', async () => {
    const r = await httpFetch(`${registry.base}/v2/app/blobs/sha256:abc`, {
      headers: { authorization: 'Bearer registry-token' },
    })
    expect(r.status).toBe(200)
    expect(r.headers.get('x-from')).toBe('store')
    expect(Buffer.from(await r.arrayBuffer()).toString()).toBe('blob-bytes')
    const atStore = store.seen.at(-1)
    expect(atStore?.url).toBe('/bucket/abc?sig=1')
    expect(atStore?.authorization).toBeUndefined()
    expect(registry.seen.at(-1)?.authorization).toBe('Bearer registry-token')
  })

  it('keeps method, body and credentials on a same-origin 308; a 303 becomes a GET without body', async () => {
    const kept = await httpFetch(`${registry.base}/v2/app/same-origin`, {
      method: 'PUT',
      body: Buffer.from('manifest'),
      headers: { authorization: 'Basic x', 'content-type': 'application/json' },
    })
    expect(await kept.json()).toEqual({
      method: 'PUT',
      url: '/v2/app/echo',
      body: 'manifest',
      auth: 'Basic x',
    })
    const after = await httpFetch(`${registry.base}/v2/app/blobs/uploads/`, {
      method: 'POST',
      body: Buffer.from('ignored'),
    })
    expect(await after.json()).toEqual({ method: 'GET', url: '/v2/app/after-upload', body: '', auth: null })
  })

  it('answers a HEAD with its headers and reuses one connection for requests in a row', async () => {
    const before = registry.connections()
    for (let i = 0; i < 3; i++) {
      const r = await httpFetch(`${registry.base}/v2/app/manifests/1.0`, { method: 'HEAD' })
      expect(r.status).toBe(200)
      expect(r.headers.get('docker-content-digest')).toBe('sha256:def')
      expect(r.headers.get('missing')).toBeNull()
    }
    expect(registry.connections() - before).toBeLessThanOrEqual(1)
  })

  it('rejects a refused connection with the socket error as cause, as fetch does', async () => {
    const port = await freePort()
    const err = await httpFetch(`http://127.0.0.1:${port}/v2/`).catch((e: unknown) => e)
    expect((err as { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED')
  })
})
