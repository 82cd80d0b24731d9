import { describe, expect, it } from 'vitest'
import { nextWatchStep } from './watch-resume.js'

describe('nextWatchStep', () => {
  it.each([
    // resourceVersion, end, failures, expected
    ['42', 'closed', 0, { action: 'watch', from: '42', delayMs: 0 }],
    [undefined, 'closed', 0, { action: 'list', delayMs: 0 }],
    ['42', 'gone', 0, { action: 'list', delayMs: 0 }],
    ['42', 'failed', 0, { action: 'watch', from: '42', delayMs: 100 }],
    ['42', 'failed', 3, { action: 'watch', from: '42', delayMs: 800 }],
    ['42', 'failed', 5, { action: 'list', delayMs: 3200 }],
    ['42', 'failed', 9, { action: 'list', delayMs: 5000 }],
    [undefined, 'failed', 1, { action: 'list', delayMs: 200 }],
  ] as const)('rv %s, %s after %i failures → %j', (resourceVersion, end, failures, expected) => {
    expect(nextWatchStep({ resourceVersion, end, failures })).toEqual(expected)
  })
})
