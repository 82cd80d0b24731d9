import { createServer } from 'node:net'
import { deflateSync, inflateSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { adler32, channelPortForward, decodeHeaders, encodeHeaders, forwardPorts } from './pod-portforward.js'

describe('SPDY pieces of port-forward', () => {
  it('adler32 matches zlib (the DICTID of a dictionary-primed stream)', () => {
    expect(adler32(Buffer.from('Wikipedia'))).toBe(0x11e60398)
    const dict = Buffer.from('some dictionary')
    const z = deflateSync(Buffer.from('x'), { dictionary: dict })
    expect(z.readUInt32BE(2)).toBe(adler32(dict))
    expect(inflateSync(z, { dictionary: dict }).toString()).toBe('x')
  })
  it('header blocks round-trip, names lowercased', () =>
    expect(decodeHeaders(encodeHeaders({ StreamType: 'data', port: '8080', requestID: '0' }))).toEqual({
      streamtype: 'data',
      port: '8080',
      requestid: '0',
    }))
})

describe('plain WebSocket port-forward (portforward.k8s.io channels)', () => {
  it.each([
    ['ports=8080', [8080]],
    ['ports=8080,9090', [8080, 9090]],
    ['port=80&port=443', [80, 443]],
    ['', { error: 'query parameter "ports" is required' }],
    ['ports=0', { error: 'invalid port "0"' }],
    ['ports=70000', { error: 'invalid port "70000"' }],
    ['ports=8080x', { error: 'invalid port "8080x"' }],
  ])('forwardPorts(%s)', (q, want) => expect(forwardPorts(new URLSearchParams(q))).toEqual(want))

  it('opens each channel with its port little-endian, copies data on 2i, reports a closed port on 2i+1', async () => {
    const echo = createServer((s) => s.pipe(s))
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()))
    const port = (echo.address() as { port: number }).port
    const sent: [number, string][] = []
    let closed = false
    const s = channelPortForward({
      ports: [port, 9],
      send: (c, d) => sent.push([c, d.toString('hex')]),
      dial: (p) => (p === port ? { host: '127.0.0.1', port } : undefined),
      close: () => {
        closed = true
      },
    })
    const le = Buffer.alloc(2)
    le.writeUInt16LE(port)
    expect(sent.slice(0, 4)).toEqual([
      [0, le.toString('hex')],
      [1, le.toString('hex')],
      [2, '0900'],
      [3, '0900'],
    ])
    expect(sent[4][0]).toBe(3)
    expect(Buffer.from(sent[4][1], 'hex').toString()).toContain('error forwarding port 9')
    s.receive(0, Buffer.from('ping'))
    for (let i = 0; i < 100 && sent.length < 6; i++) await new Promise((r) => setTimeout(r, 10))
    expect(sent[5]).toEqual([0, Buffer.from('ping').toString('hex')])
    s.end()
    for (let i = 0; i < 100 && !closed; i++) await new Promise((r) => setTimeout(r, 10))
    expect(closed).toBe(true)
    echo.close()
  })
})
