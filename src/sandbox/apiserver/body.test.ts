import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { ApiStatusError } from '../api-errors.js'
import { jsonTextDepth, MAX_JSON_DEPTH, parseJsonBody, readLimitedBody, valueDepth } from './body.js'

const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`

describe('request bodies', () => {
  it.each([
    ['{}', 1],
    ['{"a":[1,{"b":"[[["}]}', 3],
    ['"\\"[["', 0],
    [deep(3000), 3000],
  ])('depth of %s is %d', (text, d) => expect(jsonTextDepth(text)).toBe(d))

  it('refuses a body nested deeper than the limit with a 400, and parses one at the limit', () => {
    expect(() => parseJsonBody(deep(3000))).toThrow(ApiStatusError)
    expect(() => parseJsonBody(deep(MAX_JSON_DEPTH + 1))).toThrow(/more than 100 levels/)
    expect(parseJsonBody(deep(MAX_JSON_DEPTH))).toBeInstanceOf(Array)
    let v: unknown = 1
    for (let i = 0; i < 5000; i++) v = { a: v }
    expect(valueDepth(v)).toBeGreaterThan(MAX_JSON_DEPTH)
  })

  it('stops reading a streamed body once it passes the limit: 413', async () => {
    const server = createServer((req, res) => {
      readLimitedBody(req, 1000).then(
        (b) => res.end(`ok ${b.length}`),
        (err: ApiStatusError) => {
          res.writeHead(err.code)
          res.end(err.status.message)
        },
      )
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as AddressInfo).port
    const send = (chunks: string[]) =>
      new Promise<string>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, method: 'POST' }, (res) => {
          let body = ''
          res.on('data', (c) => {
            body += c
          })
          res.on('end', () => resolve(`${res.statusCode} ${body}`))
        })
        req.on('error', reject)
        for (const c of chunks) req.write(c)
        req.end()
      })
    try {
      expect(await send(['x'.repeat(600), 'y'.repeat(400)])).toBe('200 ok 1000')
      expect(await send(['x'.repeat(600), 'y'.repeat(401)])).toBe(
        '413 Request entity too large: limit is 1000',
      )
    } finally {
      server.close()
    }
  })
})
