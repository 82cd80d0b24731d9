import { describe, expect, it } from 'vitest'
import { crashBackoffMs, nextTick } from './pod-worker.js'

describe('nextTick (PLEG relist and probe tickers)', () => {
  it.each([
    [0, 1000, 0, 1000],
    [0, 1000, 999, 1000],
    [0, 1000, 1000, 2000],
    [0, 1000, 2500, 3000],
    [500, 1000, 100, 500],
    [500, 10_000, 10_499, 10_500],
    [500, 10_000, 10_500, 20_500],
  ])('from %i every %i ms, after %i → %i', (from, period, after, want) => {
    expect(nextTick(from, period, after)).toBe(want)
  })
})

describe('crashBackoffMs', () => {
  it.each([
    [1, 10_000, 0],
    [2, 10_000, 10_000],
    [3, 10_000, 20_000],
    [9, 10_000, 300_000],
    [2, 500, 500],
    [20, 500, 15_000],
  ])('restart %i with base %i ms → %i ms', (restarts, base, want) => {
    expect(crashBackoffMs(restarts, base)).toBe(want)
  })
})
