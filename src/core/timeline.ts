import { percentile, type RequestSample } from './analysis.js'

/** Requests answered by one side of the split in one analysis interval. */
export interface SideStats {
  requests: number
  errors: number
  /** Percent of requests that did not fail (no error, no 5xx); absent without requests. */
  successRate?: number
  p50Ms?: number
  p99Ms?: number
}

export type TimelineEventKind = 'phase' | 'gate' | 'fast-fail' | 'analysis' | 'metric'

/**
 * The timeline as stored with a release (state annotation, then the history ConfigMap): tuples,
 * times in ms after the release's start, so 20 releases stay far below a ConfigMap's 1 MiB.
 *   steps: [index, weight, stable, canary, startMs, endMs | null]
 *   iv:    [step, atMs, ok (1|0), cReq, cErr, cP50, cP99, sReq, sErr, sP50, sP99] (null: no answer)
 *   ev:    [atMs, kind, text]
 */
export interface StoredTimeline {
  v: 1
  steps: [number, number, number, number, number, number | null][]
  iv: [
    number,
    number,
    0 | 1,
    number,
    number,
    number | null,
    number | null,
    number,
    number,
    number | null,
    number | null,
  ][]
  ev: [number, TimelineEventKind, string][]
}

/** Bounds of one stored timeline: a long release keeps its first and its latest records. */
export const TIMELINE_LIMITS = { intervals: 200, events: 60, text: 160 } as const

export function emptyTimeline(): StoredTimeline {
  return { v: 1, steps: [], iv: [], ev: [] }
}

const r1 = (v: number | undefined): number | null => (v === undefined ? null : Math.round(v * 10) / 10)
const back = (v: number | null | undefined): number | undefined =>
  v === null || v === undefined ? undefined : v

/**
 * Requests, errors, success rate, p50 and p99 of the canary (answers of `target`) and of stable
 * (answers of any other version); requests that got no answer carry no version and are counted
 * by neither side, as in the analysis.
 *
 *   intervalStats([{ version: '2.0', status: 500, latencyMs: 3 }, { version: '1.0', status: 200, latencyMs: 5 }], '2.0')
 *   → { canary: { requests: 1, errors: 1, successRate: 0, p50Ms: 3, p99Ms: 3 },
 *       stable: { requests: 1, errors: 0, successRate: 100, p50Ms: 5, p99Ms: 5 } }
 */
export function intervalStats(
  samples: RequestSample[],
  target: string,
): { canary: SideStats; stable: SideStats } {
  const side = (xs: RequestSample[]): SideStats => {
    const errors = xs.filter((s) => s.error || (s.status ?? 0) >= 500).length
    const lat = xs.filter((s) => !s.error).map((s) => s.latencyMs)
    const out: SideStats = { requests: xs.length, errors }
    if (xs.length) out.successRate = Math.round(((xs.length - errors) / xs.length) * 1000) / 10
    const p50 = r1(percentile(lat, 50))
    const p99 = r1(percentile(lat, 99))
    if (p50 !== null) out.p50Ms = p50
    if (p99 !== null) out.p99Ms = p99
    return out
  }
  return {
    canary: side(samples.filter((s) => s.version === target)),
    stable: side(samples.filter((s) => s.version !== undefined && s.version !== target)),
  }
}

/** Keeps the first half and the latest half of `xs` when it is longer than `max`. */
function bounded<T>(xs: T[], max: number): T[] {
  if (xs.length <= max) return xs
  const head = Math.floor(max / 2)
  return [...xs.slice(0, head), ...xs.slice(xs.length - (max - head))]
}

/**
 * Marks the start of step `index` (ending the step before it, if still open).
 *
 *   startStep(emptyTimeline(), { index: 0, weight: 25, stable: 3, canary: 1, atMs: 1200 }).steps
 *   → [[0, 25, 3, 1, 1200, null]]
 */
export function startStep(
  t: StoredTimeline | undefined,
  s: { index: number; weight: number; stable: number; canary: number; atMs: number },
): StoredTimeline {
  const base = t ?? emptyTimeline()
  const steps = base.steps
    .filter((x) => x[0] !== s.index)
    .map((x): StoredTimeline['steps'][number] => (x[5] === null ? [x[0], x[1], x[2], x[3], x[4], s.atMs] : x))
  steps.push([s.index, s.weight, s.stable, s.canary, s.atMs, null])
  return { ...base, steps }
}

/**
 * Closes the open step at `atMs` (the release ended or promotion began).
 *
 *   endSteps({ …steps: [[0, 25, 3, 1, 1200, null]] }, 9000).steps → [[0, 25, 3, 1, 1200, 9000]]
 */
export function endSteps(t: StoredTimeline | undefined, atMs: number): StoredTimeline {
  const base = t ?? emptyTimeline()
  return {
    ...base,
    steps: base.steps.map((x): StoredTimeline['steps'][number] =>
      x[5] === null ? [x[0], x[1], x[2], x[3], x[4], atMs] : x,
    ),
  }
}

/**
 * Records one analysis interval of step `step`.
 *
 *   addInterval(t, { step: 0, atMs: 3000, ok: true, canary: { requests: 5, errors: 0, successRate: 100, p50Ms: 2, p99Ms: 4 }, stable: { requests: 15, errors: 0 } }).iv
 *   → [[0, 3000, 1, 5, 0, 2, 4, 15, 0, null, null]]
 */
export function addInterval(
  t: StoredTimeline | undefined,
  i: { step: number; atMs: number; ok: boolean; canary: SideStats; stable: SideStats },
): StoredTimeline {
  const base = t ?? emptyTimeline()
  const row: StoredTimeline['iv'][number] = [
    i.step,
    Math.round(i.atMs),
    i.ok ? 1 : 0,
    i.canary.requests,
    i.canary.errors,
    r1(i.canary.p50Ms),
    r1(i.canary.p99Ms),
    i.stable.requests,
    i.stable.errors,
    r1(i.stable.p50Ms),
    r1(i.stable.p99Ms),
  ]
  return { ...base, iv: bounded([...base.iv, row], TIMELINE_LIMITS.intervals) }
}

/**
 * Records an event: a phase transition, a gate result, fast-fail evidence. Text is cut to
 * TIMELINE_LIMITS.text characters.
 *
 *   addEvent(undefined, { atMs: 10, kind: 'gate', text: 'gate passed: kubeapp-canary-x' }).ev
 *   → [[10, 'gate', 'gate passed: kubeapp-canary-x']]
 */
export function addEvent(
  t: StoredTimeline | undefined,
  e: { atMs: number; kind: TimelineEventKind; text: string },
): StoredTimeline {
  const base = t ?? emptyTimeline()
  const text = e.text.length > TIMELINE_LIMITS.text ? `${e.text.slice(0, TIMELINE_LIMITS.text - 1)}…` : e.text
  return { ...base, ev: bounded([...base.ev, [Math.round(e.atMs), e.kind, text]], TIMELINE_LIMITS.events) }
}

/** What a finished (or running) release is made of, as `edgecanary report` reads it. */
export interface ReleaseRecord {
  app: string
  namespace: string
  version: string
  previousVersion?: string
  phase: string
  reason?: string
  startedAt: string
  updatedAt: string
  timings?: { rollbackDoneAt?: string }
  steps: { weight: number; stable: number; canary: number; actualPercent: number }[]
  timeline?: StoredTimeline
}

export interface ReportInterval {
  at: string
  verdict: 'ok' | 'failed'
  canary: SideStats
  stable: SideStats
}

export interface ReleaseReport {
  app: string
  namespace: string
  version: string
  from?: string
  phase: string
  reason?: string
  startedAt: string
  endedAt: string
  steps: {
    index: number
    weight: number
    stable: number
    canary: number
    startedAt: string
    endedAt: string
    intervals: ReportInterval[]
  }[]
  events: { at: string; kind: TimelineEventKind; text: string }[]
}

/**
 * The report of one release: its stored timeline expanded to ISO times and named fields.
 * A step still open ends when the release ended (`updatedAt`).
 *
 *   releaseReport({ app: 'kubeapp', version: '2.0', startedAt: '2026-01-01T00:00:00.000Z', timeline: { steps: [[0, 25, 3, 1, 1000, 4000]], … }, … })
 *   → { …, steps: [{ index: 0, weight: 25, stable: 3, canary: 1, startedAt: '2026-01-01T00:00:01.000Z', endedAt: '2026-01-01T00:00:04.000Z', intervals: […] }] }
 */
export function releaseReport(r: ReleaseRecord): ReleaseReport {
  const t0 = Date.parse(r.startedAt)
  const iso = (ms: number) => new Date(t0 + ms).toISOString()
  const endedAt = r.timings?.rollbackDoneAt ?? r.updatedAt
  const t = r.timeline ?? emptyTimeline()
  const side = (req: number, err: number, p50: number | null, p99: number | null): SideStats => {
    const s: SideStats = { requests: req, errors: err }
    if (req) s.successRate = Math.round(((req - err) / req) * 1000) / 10
    if (back(p50) !== undefined) s.p50Ms = back(p50)
    if (back(p99) !== undefined) s.p99Ms = back(p99)
    return s
  }
  const steps = [...t.steps]
    .sort((a, b) => a[4] - b[4])
    .map(([index, weight, stable, canary, start, end]) => ({
      index,
      weight,
      stable,
      canary,
      startedAt: iso(start),
      endedAt: end === null ? endedAt : iso(end),
      intervals: t.iv
        .filter((x) => x[0] === index)
        .map(
          ([, at, ok, cReq, cErr, cP50, cP99, sReq, sErr, sP50, sP99]): ReportInterval => ({
            at: iso(at),
            verdict: ok ? 'ok' : 'failed',
            canary: side(cReq, cErr, cP50, cP99),
            stable: side(sReq, sErr, sP50, sP99),
          }),
        ),
    }))
  return {
    app: r.app,
    namespace: r.namespace,
    version: r.version,
    ...(r.previousVersion !== undefined ? { from: r.previousVersion } : {}),
    phase: r.phase,
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    startedAt: r.startedAt,
    endedAt,
    steps,
    events: t.ev.map(([at, kind, text]) => ({ at: iso(at), kind, text })),
  }
}
