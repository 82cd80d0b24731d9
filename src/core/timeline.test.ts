import { describe, expect, it } from 'vitest'
import type { RequestSample } from './analysis.js'
import {
  addEvent,
  addInterval,
  emptyTimeline,
  endSteps,
  intervalStats,
  type ReleaseRecord,
  releaseReport,
  startStep,
  TIMELINE_LIMITS,
} from './timeline.js'

const ok = (version: string, latencyMs: number): RequestSample => ({ version, status: 200, latencyMs })
const fail = (version: string, latencyMs: number): RequestSample => ({ version, status: 500, latencyMs })

describe('intervalStats', () => {
  it.each([
    // samples, canary, stable
    [[], { requests: 0, errors: 0 }, { requests: 0, errors: 0 }],
    [
      [ok('2.0', 3), ok('1.0', 5), ok('1.0', 7)],
      { requests: 1, errors: 0, successRate: 100, p50Ms: 3, p99Ms: 3 },
      { requests: 2, errors: 0, successRate: 100, p50Ms: 5, p99Ms: 7 },
    ],
    [
      [fail('2.0', 2), ok('2.0', 4), ok('2.0', 6), ok('2.0', 40)],
      { requests: 4, errors: 1, successRate: 75, p50Ms: 4, p99Ms: 40 },
      { requests: 0, errors: 0 },
    ],
    // a refused connection has no version: neither side's
    [
      [{ error: 'ECONNREFUSED', latencyMs: 1 }, ok('1.0', 2.26)],
      { requests: 0, errors: 0 },
      { requests: 1, errors: 0, successRate: 100, p50Ms: 2.3, p99Ms: 2.3 },
    ],
  ] as [RequestSample[], object, object][])('%#', (samples, canary, stable) => {
    expect(intervalStats(samples, '2.0')).toEqual({ canary, stable })
  })
})

describe('steps and intervals', () => {
  it('a new step closes the open one; endSteps closes the last', () => {
    let t = startStep(undefined, { index: 0, weight: 25, stable: 3, canary: 1, atMs: 1000 })
    t = startStep(t, { index: 1, weight: 50, stable: 2, canary: 2, atMs: 5000 })
    expect(t.steps).toEqual([
      [0, 25, 3, 1, 1000, 5000],
      [1, 50, 2, 2, 5000, null],
    ])
    expect(endSteps(t, 9000).steps[1]).toEqual([1, 50, 2, 2, 5000, 9000])
  })

  it('a resumed step starts again instead of appearing twice', () => {
    let t = startStep(undefined, { index: 0, weight: 25, stable: 3, canary: 1, atMs: 1000 })
    t = startStep(t, { index: 0, weight: 25, stable: 3, canary: 1, atMs: 8000 })
    expect(t.steps).toEqual([[0, 25, 3, 1, 8000, null]])
  })

  it('keeps the first and the latest intervals and events of a long release, within bounds', () => {
    let t = emptyTimeline()
    const n = TIMELINE_LIMITS.intervals + 50
    for (let i = 0; i < n; i++)
      t = addInterval(t, {
        step: 0,
        atMs: i,
        ok: true,
        canary: { requests: i, errors: 0 },
        stable: { requests: 0, errors: 0 },
      })
    expect(t.iv).toHaveLength(TIMELINE_LIMITS.intervals)
    expect(t.iv[0][1]).toBe(0)
    expect(t.iv[t.iv.length - 1][1]).toBe(n - 1)
    for (let i = 0; i < TIMELINE_LIMITS.events + 5; i++)
      t = addEvent(t, { atMs: i, kind: 'phase', text: 'x'.repeat(1000) })
    expect(t.ev).toHaveLength(TIMELINE_LIMITS.events)
    expect(t.ev[0][2]).toHaveLength(TIMELINE_LIMITS.text)
  })

  it('20 releases of the longest timeline fit a history ConfigMap (≤ 1 MiB)', () => {
    let t = emptyTimeline()
    for (let s = 0; s < 10; s++)
      t = startStep(t, { index: s, weight: 10 * s, stable: 90, canary: 10, atMs: s * 1e6 })
    const wide = { requests: 99999, errors: 99999, p50Ms: 99999.9, p99Ms: 99999.9 }
    for (let i = 0; i < TIMELINE_LIMITS.intervals; i++)
      t = addInterval(t, { step: 9, atMs: 1e7 + i, ok: false, canary: wide, stable: wide })
    for (let i = 0; i < TIMELINE_LIMITS.events; i++)
      t = addEvent(t, { atMs: 1e7 + i, kind: 'fast-fail', text: 'é"'.repeat(500) })
    const release = { app: 'a'.repeat(63), version: 'v'.repeat(128), reason: 'r'.repeat(500), timeline: t }
    // what appendHistory stores: the list as one JSON string, the ConfigMap's one data value
    // (Kubernetes bounds a ConfigMap's data at 1 MiB)
    const value = JSON.stringify(Array.from({ length: 20 }, () => release))
    expect(Buffer.byteLength(value)).toBeLessThanOrEqual(1024 * 1024)
  })
})

describe('releaseReport', () => {
  const record: ReleaseRecord = {
    app: 'kubeapp',
    namespace: 'production',
    version: '2.0',
    previousVersion: '1.0',
    phase: 'RolledBack',
    reason: 'canary answered HTTP 500',
    startedAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:09.000Z',
    timings: { rollbackDoneAt: '2026-01-01T00:00:08.500Z' },
    steps: [],
    timeline: {
      v: 1,
      steps: [
        [1, 50, 2, 2, 5000, null],
        [0, 25, 3, 1, 1000, 5000],
      ],
      iv: [
        [0, 3000, 1, 5, 0, 2, 4, 15, 0, 3, 5],
        [1, 6000, 0, 4, 1, null, null, 4, 0, 2, 2],
      ],
      ev: [[8500, 'phase', 'RolledBack: canary answered HTTP 500']],
    },
  }

  it('expands times and fields in the documented shape, steps in order, an open step ending with the release', () => {
    const r = releaseReport(record)
    expect(Object.keys(r)).toEqual([
      'app',
      'namespace',
      'version',
      'from',
      'phase',
      'reason',
      'startedAt',
      'endedAt',
      'steps',
      'events',
    ])
    expect(r.endedAt).toBe('2026-01-01T00:00:08.500Z')
    expect(r.steps.map((s) => [s.index, s.startedAt, s.endedAt])).toEqual([
      [0, '2026-01-01T00:00:01.000Z', '2026-01-01T00:00:05.000Z'],
      [1, '2026-01-01T00:00:05.000Z', '2026-01-01T00:00:08.500Z'],
    ])
    expect(r.steps[0].intervals).toEqual([
      {
        at: '2026-01-01T00:00:03.000Z',
        verdict: 'ok',
        canary: { requests: 5, errors: 0, successRate: 100, p50Ms: 2, p99Ms: 4 },
        stable: { requests: 15, errors: 0, successRate: 100, p50Ms: 3, p99Ms: 5 },
      },
    ])
    expect(r.steps[1].intervals[0]).toMatchObject({
      verdict: 'failed',
      canary: { requests: 4, errors: 1, successRate: 75 },
    })
    expect(r.steps[1].intervals[0].canary).not.toHaveProperty('p99Ms')
    expect(r.events).toEqual([
      { at: '2026-01-01T00:00:08.500Z', kind: 'phase', text: 'RolledBack: canary answered HTTP 500' },
    ])
  })

  it('a release recorded before timelines existed has no steps, not an error', () => {
    const { timeline: _, ...old } = record
    expect(releaseReport(old)).toMatchObject({ steps: [], events: [] })
  })
})
