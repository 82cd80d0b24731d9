import { describe, expect, it } from 'vitest'
import { type Epoch, fenceDecision, formatEpoch, parseEpoch } from './epoch.js'

const e = (n: number, holder = 'a'): Epoch => ({ n, holder })

describe('fenceDecision', () => {
  it.each([
    // on the object, mine, mode, decision
    [undefined, e(3), 'claim', 'write'],
    [e(2, 'b'), e(3), 'claim', 'write'],
    [e(3), e(3), 'claim', 'write'],
    [e(3, 'b'), e(3), 'claim', 'refuse'],
    [e(4, 'c'), e(3), 'claim', 'refuse'],
    [e(3), e(3), 'write', 'write'],
    [e(4, 'c'), e(3), 'write', 'refuse'],
    [e(2, 'b'), e(3), 'write', 'refuse'],
    [undefined, e(3), 'write', 'refuse'],
  ] as const)('object %j, mine %j, %s → %s', (onObject, mine, mode, decision) => {
    expect(fenceDecision(onObject, mine, mode)).toBe(decision)
  })
})

describe('epoch text', () => {
  it.each([
    ['7/edgecanary@pi:12', { n: 7, holder: 'edgecanary@pi:12' }],
    ['0/edgecanary@h:1', { n: 0, holder: 'edgecanary@h:1' }],
    ['junk', undefined],
    [undefined, undefined],
  ])('parseEpoch(%s) = %j', (text, epoch) => {
    expect(parseEpoch(text)).toEqual(epoch)
    if (epoch) expect(formatEpoch(epoch)).toBe(text)
  })
})
