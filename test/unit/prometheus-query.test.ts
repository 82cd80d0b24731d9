import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { queryMetrics } from '../../src/release/prometheus.js'

// A real HTTP server on loopback answering as Prometheus' /api/v1/query does, by query text.
describe('queryMetrics against an HTTP server', () => {
  let server: Server
  let base: string
  const seen: string[] = []
  beforeAll(async () => {
    server = createServer((req, res) => {
      const q = new URL(req.url ?? '/', 'http://x').searchParams.get('query') ?? ''
      seen.push(`${req.url?.split('?')[0]} ${q}`)
      if (q.startsWith('slow')) return // never answers
      if (q.startsWith('html')) {
        res.writeHead(502, { 'content-type': 'text/html' })
        return res.end('<h1>bad gateway</h1>')
      }
      if (q.startsWith('bad')) {
        res.writeHead(400, { 'content-type': 'application/json' })
        return res.end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: '1:4: parse error' }))
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          status: 'success',
          data: {
            resultType: 'vector',
            result: [{ metric: {}, value: [1, q.includes('canary') ? '0.5' : '0'] }],
          },
        }),
      )
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prom`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })

  const vars = { app: 'kubeapp', namespace: 'production', track: 'canary', interval: '2s' }

  it('fills the placeholders, asks /api/v1/query under the base path and reads one number per metric', async () => {
    const r = await queryMetrics(
      base,
      [{ name: 'err', query: 'rate(x{track="{{track}}"}[{{interval}}])', max: 0.1 }],
      vars,
    )
    expect(r).toEqual([{ name: 'err', value: 0.5 }])
    expect(seen).toContain('/prom/api/v1/query rate(x{track="canary"}[2s])')
  })

  it('a query error, a non-JSON answer and a timeout are errors of that metric, not exceptions', async () => {
    const r = await queryMetrics(
      base,
      [
        { name: 'a', query: 'bad(', max: 1 },
        { name: 'b', query: 'html', max: 1 },
        { name: 'c', query: 'slow', max: 1 },
      ],
      vars,
      300,
    )
    expect(r).toEqual([
      { name: 'a', error: 'bad_data: 1:4: parse error' },
      { name: 'b', error: 'Prometheus answered HTTP 502, not JSON' },
      { name: 'c', error: 'Prometheus unreachable (no answer in 300 ms)' },
    ])
  })

  it('an unreachable Prometheus is named as such', async () => {
    const closed = createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const port = (closed.address() as AddressInfo).port
    await new Promise((r) => closed.close(r))
    const r = await queryMetrics(`http://127.0.0.1:${port}`, [{ name: 'x', query: 'up', min: 1 }], vars)
    expect(r).toEqual([{ name: 'x', error: 'Prometheus unreachable (ECONNREFUSED)' }])
  })
})
