import { describe, expect, it } from 'vitest'
import { bars, secondLine, summarize } from './report.js'

describe('summarize', () => {
  it('counts per version its answers, share, 5xx and latency; errors by kind; overall percentiles', () => {
    const r = summarize([
      { version: '1.0', status: 200, latencyMs: 10 },
      { version: '1.0', status: 200, latencyMs: 20 },
      { version: '2.0', status: 200, latencyMs: 30 },
      { version: '2.0', status: 500, latencyMs: 40 },
      { error: 'ECONNREFUSED', latencyMs: 1 },
    ])
    expect(r.versions).toEqual({
      '1.0': { count: 2, share: 40, errors: 0, p50Ms: 10, p99Ms: 20 },
      '2.0': { count: 1, share: 20, errors: 1, p50Ms: 30, p99Ms: 40 },
    })
    expect(Object.keys(r.versions)).toEqual(['1.0', '2.0'])
    expect(r.errors).toEqual([
      { kind: 'HTTP 500', count: 1 },
      { kind: 'ECONNREFUSED', count: 1 },
    ])
    expect(r.errorCount).toBe(2)
    expect(r.p50Ms).toBe(20)
    expect(r.p99Ms).toBe(40)
  })

  it('keeps a slow version apart from a fast one', () => {
    const fast = Array.from({ length: 50 }, () => ({ version: '1.0', status: 200, latencyMs: 2 }))
    const slow = Array.from({ length: 50 }, () => ({ version: '2.0', status: 200, latencyMs: 200 }))
    const r = summarize([...fast, ...slow])
    expect(r.versions['1.0'].p99Ms).toBe(2)
    expect(r.versions['2.0'].p50Ms).toBe(200)
  })

  it('draws bars proportional to the share', () => {
    expect(bars({ '1.0': { count: 75, share: 75, errors: 0, p50Ms: 3, p99Ms: 9 } }, 20)[0]).toBe(
      `1.0  ${'█'.repeat(15)}${' '.repeat(5)}     75   75.0%  p50 3 ms  p99 9 ms`,
    )
  })

  it('a line per second names the shares of that second', () => {
    expect(
      secondLine('12:00:03', [
        { version: '1.0', status: 200, latencyMs: 2 },
        { version: '2.0', status: 200, latencyMs: 3 },
        { error: 'timeout', latencyMs: 2000 },
      ]),
    ).toBe('12:00:03  1.0 33.3%  2.0 33.3%  (3 req, 1 err)')
    expect(secondLine('12:00:04', [])).toBe('12:00:04  -  (0 req, 0 err)')
  })
})
