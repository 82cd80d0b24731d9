import { describe, expect, it } from 'vitest'
import { holderGone } from './lock.js'

const now = Date.parse('2026-11-24T12:00:00Z')
const at = (sAgo: number) => new Date(now - sAgo * 1000).toISOString()

describe('holderGone (who may take the lease over)', () => {
  it.each([
    ['no holder', { holderIdentity: '' }, true],
    [
      'renewed 5 s ago, 15 s lease, live pid elsewhere',
      { holderIdentity: 'edgecanary@other:42', renewTime: at(5), leaseDurationSeconds: 15 },
      false,
    ],
    ['expired', { holderIdentity: 'edgecanary@other:42', renewTime: at(20), leaseDurationSeconds: 15 }, true],
    [
      'fresh but its pid on this host is dead',
      { holderIdentity: 'edgecanary@here:42', renewTime: at(1), leaseDurationSeconds: 15 },
      true,
    ],
    [
      'fresh and its pid on this host lives',
      { holderIdentity: 'edgecanary@here:7', renewTime: at(1), leaseDurationSeconds: 15 },
      false,
    ],
  ])('%s → %s', (_name, spec, gone) => {
    expect(holderGone(spec, now, 'here', (pid) => pid === 7)).toBe(gone)
  })
})
