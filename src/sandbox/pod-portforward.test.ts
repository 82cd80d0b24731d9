import { deflateSync, inflateSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { adler32, decodeHeaders, encodeHeaders } from './pod-portforward.js'

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
