import { networkInterfaces } from 'node:os'
import { describe, expect, it } from 'vitest'
import { isLocalAddress } from './server.js'

describe('isLocalAddress (who may push to a LAN registry)', () => {
  const own = Object.values(networkInterfaces())
    .flatMap((l) => l ?? [])
    .find((i) => !i.internal && i.family === 'IPv4')?.address
  it.each([
    ['127.0.0.1', true],
    ['127.0.0.2', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['198.51.100.7', false], // TEST-NET-2: never an address of this machine
    ['::ffff:198.51.100.7', false],
    [undefined, false],
  ])('%s → %s', (address, local) => expect(isLocalAddress(address)).toBe(local))
  it.runIf(own)("this machine's own LAN address counts as local", () => {
    expect(isLocalAddress(own)).toBe(true)
    expect(isLocalAddress(`::ffff:${own}`)).toBe(true)
  })
})
