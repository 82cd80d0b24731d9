import { describe, expect, it } from 'vitest'
import { listenAddress } from './daemon.js'

describe('listenAddress', () => {
  const saved = { address: '10.0.0.1', port: 5001 }
  const running = { address: '10.0.0.1', port: 5001 }
  it.each([
    // flags, saved, running, result
    [{}, undefined, undefined, { address: '127.0.0.1', port: 5000 }],
    [{}, saved, undefined, { address: '127.0.0.1', port: 5001 }],
    [{ port: 5002 }, saved, undefined, { address: '127.0.0.1', port: 5002 }],
    [{ address: '192.168.1.20' }, undefined, undefined, { address: '192.168.1.20', port: 5000 }],
    [{}, saved, running, running],
    [{ address: '10.0.0.1', port: 5001 }, saved, running, running],
  ])('%j saved %j running %j → %j', (flags, s, r, want) => {
    expect(listenAddress(flags, s, r)).toEqual(want)
  })

  it.each([
    // flags, running
    [{ port: 5002 }, running],
    [{ address: '127.0.0.1' }, running],
    [{ address: 'laptop.lan' }, undefined],
  ])('%j while %j → usage error', (flags, r) => {
    expect(() => listenAddress(flags, saved, r)).toThrow()
  })
})
