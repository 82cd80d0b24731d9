import { describe, expect, it } from 'vitest'
import type { ReleaseReport } from '../core/timeline.js'
import { htmlReport } from './html.js'
import { markdownReport } from './markdown.js'

const side = (requests: number, errors: number, p99Ms: number) => ({
  requests,
  errors,
  successRate: Math.round(((requests - errors) / requests) * 1000) / 10,
  p50Ms: p99Ms / 2,
  p99Ms,
})
const report: ReleaseReport = {
  app: 'kubeapp',
  namespace: 'production',
  version: '2.0',
  from: '1.0',
  phase: 'RolledBack',
  reason: 'canary <b>answered</b> HTTP 500 | twice',
  startedAt: '2026-01-01T00:00:00.000Z',
  endedAt: '2026-01-01T00:00:12.000Z',
  steps: [
    {
      index: 0,
      weight: 25,
      stable: 3,
      canary: 1,
      startedAt: '2026-01-01T00:00:01.000Z',
      endedAt: '2026-01-01T00:00:06.000Z',
      intervals: [
        { at: '2026-01-01T00:00:03.000Z', verdict: 'ok', canary: side(10, 0, 4), stable: side(30, 0, 5) },
        { at: '2026-01-01T00:00:05.000Z', verdict: 'ok', canary: side(10, 0, 6), stable: side(30, 0, 5) },
      ],
    },
    {
      index: 1,
      weight: 50,
      stable: 2,
      canary: 2,
      startedAt: '2026-01-01T00:00:06.000Z',
      endedAt: '2026-01-01T00:00:12.000Z',
      intervals: [
        {
          at: '2026-01-01T00:00:08.000Z',
          verdict: 'failed',
          canary: side(20, 10, 30),
          stable: side(20, 0, 5),
        },
      ],
    },
  ],
  events: [
    { at: '2026-01-01T00:00:11.000Z', kind: 'phase', text: 'RolledBack: canary <b>answered</b> HTTP 500' },
  ],
}

describe('htmlReport', () => {
  const html = htmlReport(report)

  it('draws one step boundary per step and a verdict dot per interval', () => {
    expect(html.match(/class="step-boundary"/g)).toHaveLength(2)
    expect(html.match(/class="verdict verdict-ok"/g)).toHaveLength(2)
    expect(html.match(/class="verdict verdict-failed"/g)).toHaveLength(1)
    // canary and stable lines in the success-rate and latency panels, the pod share in the first
    expect(html.match(/class="series canary"/g)).toHaveLength(3)
    expect(html.match(/class="series stable"/g)).toHaveLength(2)
    expect(html.match(/class="series pods"/g)).toHaveLength(1)
  })

  it('is self-contained and escapes what it shows', () => {
    expect(html).not.toMatch(/<script|<link|@import|url\(|src=|href=/i)
    expect(html).not.toContain('<b>answered</b>')
    expect(html).toContain('canary &lt;b&gt;answered&lt;/b&gt; HTTP 500')
    expect(html).toContain('@media print')
  })
})

describe('markdownReport', () => {
  const md = markdownReport(report)

  it('has a heading with the outcome and a table per step with a row per interval', () => {
    expect(md.split('\n')[0]).toBe('### kubeapp 1.0 → 2.0: RolledBack')
    expect(md).toContain('#### Step 1: 3:1 (25 % canary) 00:00:01–00:00:06')
    expect(md).toContain('#### Step 2: 2:2 (50 % canary) 00:00:06–00:00:12')
    expect(md).toContain(
      '| 00:00:08 | ❌ failed | 20 | 10 | 50 % | 15 ms | 30 ms | 20 | 0 | 100 % | 2.5 ms | 5 ms |',
    )
    expect(md.match(/^\| 00:00:0\d \|/gm)).toHaveLength(3)
    // a | in a reason cannot break a table
    expect(md).toContain('HTTP 500 \\| twice')
  })
})
