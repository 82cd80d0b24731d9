import { describe, expect, it } from 'vitest'
import { bars, summarize } from './report.js'

describe('summarize', () => {
  it('counts versions, errors by kind and latency percentiles', () => {
    const r = summarize([
      { version: '1.0', status: 200, latencyMs: 10 },
      { version: '1.0', status: 200, latencyMs: 20 },
      { version: '2.0', status: 200, latencyMs: 30 },
      { version: '2.0', status: 500, latencyMs: 40 },
      { error: 'ECONNREFUSED', latencyMs: 1 },
    ])
    expect(r.versions).toEqual([
      { version: '1.0', count: 2, percent: 40 },
      { version: '2.0', count: 1, percent: 20 },
    ])
    expect(r.errors).toEqual([
      { kind: 'HTTP 500', count: 1 },
      { kind: 'ECONNREFUSED', count: 1 },
    ])
    expect(r.errorCount).toBe(2)
    expect(r.p50Ms).toBe(20)
    expect(r.p99Ms).toBe(40)
  })

  it('draws bars proportional to the share', () => {
    expect(bars([{ version: '1.0', count: 75, percent: 75 }], 20)[0]).toBe(
      `1.0  ${'█'.repeat(15)}${' '.repeat(5)}     75   75.0%`,
    )
  })
})
