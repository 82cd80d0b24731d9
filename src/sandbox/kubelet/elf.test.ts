import { describe, expect, it } from 'vitest'
import { elfArchOf, launchPlan, parseQuantity } from './elf.js'

function header(machine: number): Buffer {
  const b = Buffer.alloc(20)
  b.writeUInt32BE(0x7f454c46, 0)
  b[5] = 1
  b.writeUInt16LE(machine, 18)
  return b
}

describe('kubelet architecture decisions', () => {
  it.each([
    [0xb7, 'arm64'],
    [0x3e, 'amd64'],
    [0x28, 'arm'],
  ])('e_machine %i is %s', (m, arch) => expect(elfArchOf(header(m))).toBe(arch))

  it('a script is not ELF', () => expect(elfArchOf(Buffer.from('#!/bin/sh\necho hi\n....'))).toBeUndefined())

  it.each([
    ['arm64', 'arm64', 'amd64', { run: 'qemu', qemu: 'qemu-aarch64-static' }],
    ['arm', 'arm', 'amd64', { run: 'qemu', qemu: 'qemu-arm-static' }],
    ['amd64', 'arm64', 'amd64', { run: 'fail' }],
    ['arm64', 'amd64', 'amd64', { run: 'fail' }],
    ['amd64', 'amd64', 'amd64', { run: 'native' }],
    // a mixed cluster: each node runs only its own architecture, as a real Pi would
    ['arm64', 'arm', 'amd64', { run: 'fail' }],
    ['arm', 'arm64', 'amd64', { run: 'fail' }],
    ['amd64', 'arm', 'amd64', { run: 'fail' }],
  ])('binary %s on a %s node (host %s)', (bin, node, host, plan) =>
    expect(launchPlan(bin, node, host)).toEqual(plan),
  )

  it.each([
    ['64Mi', 64 * 1024 * 1024],
    ['1Gi', 1024 ** 3],
    ['500M', 500e6],
    ['12345', 12345],
    ['x', undefined],
  ])('parseQuantity(%s)', (q, n) => expect(parseQuantity(q)).toBe(n))
})
