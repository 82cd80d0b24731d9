import { systemClock } from '../adapters/system-clock.js'
import { type IntervalVerdict, judgeInterval, type PodCheck, type RequestSample } from '../core/analysis.js'
import type { AnalysisConfig } from '../core/config.js'
import { judgeMetrics, type MetricResult } from '../core/prometheus.js'
import { afterInterval, firstCanary5xx } from '../core/release-decisions.js'
import { prewarmDelayMs } from '../core/release-plan.js'
import type { TimelineEventKind } from '../core/timeline.js'
import type { Clock } from '../ports.js'
import type { ReleaseState } from './state.js'

/** How long before an interval ends the canary pods' /health and /version are asked. */
const CHECK_LEAD_MS = 150

/** What the analysis loop needs of the release it runs in; every side effect goes through here. */
export interface AnalysisHost {
  analysis: AnalysisConfig
  /** The version the canary must be. */
  target: string
  intervalMs: number
  progressDeadlineMs: number
  /** The release's state: lastAnalysis and failedChecks are written here. */
  state: ReleaseState
  signal?: AbortSignal
  /** The release's clock (default: the system clock). */
  clock?: Clock
  /** The requests through the Service seen so far in this interval. */
  samples(): RequestSample[]
  /** Takes this interval's requests and starts collecting the next interval's. */
  drainSamples(): RequestSample[]
  /** Starts the built-in load, if configured and not running. */
  startLoad(): Promise<void>
  /** Between two looks: throws on SIGINT, on `abort`/`promote` from another terminal, on a fast-fail of the canary pods. */
  between(): Promise<void>
  /** /health and /version of every canary pod in the Service. */
  checkServingPods(): Promise<PodCheck[]>
  /** Notes when a failure signal was first seen (the rollback timings). */
  sawFailure(at: number): void
  /** Scales the canary to the next step's count ahead of it. */
  warm(replicas: number): Promise<void>
  /**
   * Writes the state: a failed check (`failed`) must outlive this process and goes at once; a
   * passing interval's progress may be held for the next write (progressWriteDue).
   */
  writeState(failed: boolean): Promise<void>
  /** Ends the release with a rollback (throws). */
  rollback(reason: string): never
  /** Asks Prometheus the `analysis.metrics` queries (none configured: an empty list). */
  metrics?(): Promise<MetricResult[]>
  /** Adds an event to the release's timeline (a metric out of range). */
  record?(kind: TimelineEventKind, text: string): void
  /** Called with each interval's verdict and its requests (the timeline), also for the interval a canary 5xx cut short. */
  onInterval?(it: number, v: IntervalVerdict, samples: RequestSample[]): void
}

/**
 * A verdict the request and pod checks passed fails when a metric is out of its range or has no
 * value; when both failed, the reason names both, so the metric is not hidden behind a pod's answer.
 *
 *   withMetrics(ok, [{ name: 'error-rate', query, max: 0.01 }], [{ name: 'error-rate', value: 0.5 }])
 *   → { …ok, ok: false, reason: 'metric error-rate = 0.5, above its max 0.01' }
 */
export function withMetrics(
  v: IntervalVerdict,
  checks: AnalysisConfig['metrics'],
  results: MetricResult[],
): { verdict: IntervalVerdict; metricFailure?: string } {
  if (results.length === 0) return { verdict: v }
  const m = judgeMetrics(checks, results)
  if (m.ok) return { verdict: v }
  const reason = m.reason ?? 'metric check failed'
  return {
    verdict: { ...v, ok: false, reason: v.ok ? reason : `${v.reason}; ${reason}` },
    metricFailure: reason,
  }
}

/**
 * `interval × iterations` of analysis of one step. Intervals follow one fixed schedule from
 * the start, so the checks at the end of one interval run while the next one already collects
 * samples. A canary 5xx rolls back at once; otherwise each interval's verdict (judgeInterval)
 * counts toward the failed-check threshold (afterInterval). With `warm`, the canary is scaled
 * to the next step's count near the end (prewarmDelayMs).
 */
export async function runAnalysis(
  host: AnalysisHost,
  h: { update(d: string): void },
  warm?: { replicas: number; step: number },
): Promise<void> {
  const { analysis, intervalMs } = host
  const clock = host.clock ?? systemClock
  const verdict = (samples: RequestSample[], pods: PodCheck[]) =>
    judgeInterval({ target: host.target, samples, pods, thresholds: analysis })
  await host.startLoad()
  const start = clock.now()
  const total = analysis.iterations * intervalMs
  let warmAt = warm ? start + prewarmDelayMs(total, host.progressDeadlineMs) : Number.POSITIVE_INFINITY
  host.drainSamples()
  for (let it = 0; it < analysis.iterations; it++) {
    const end = start + (it + 1) * intervalMs
    // the pods' /health and /version are asked in the interval's last moments, so their
    // answers are in when it ends
    let checks: Promise<PodCheck[]> | undefined
    let metrics: Promise<MetricResult[]> | undefined
    while (clock.now() < end) {
      if (!checks && end - clock.now() <= CHECK_LEAD_MS) {
        checks = host.checkServingPods()
        checks.catch(() => {})
        metrics = host.metrics?.()
        metrics?.catch(() => {})
      }
      await host.between()
      // a canary 5xx rolls back at once, without waiting for the interval to end
      const early = verdict(host.samples(), [])
      if (!early.ok && early.fatal) {
        host.onInterval?.(it, early, host.samples())
        host.sawFailure(firstCanary5xx(host.samples(), host.target) ?? clock.now())
        host.rollback(early.reason ?? 'canary failed')
      }
      if (warm && clock.now() >= warmAt) {
        warmAt = Number.POSITIVE_INFINITY
        await host.warm(warm.replicas)
        h.update(
          `starting ${warm.replicas - host.state.steps[host.state.step].canary} canary pod(s) for step ${warm.step}, held out of the Service until its gate`,
        )
      }
      const wake = checks ? end : end - CHECK_LEAD_MS
      await clock.sleep(Math.min(250, Math.max(0, wake - clock.now())), host.signal)
    }
    const samples = host.drainSamples()
    const [pods, asked] = await Promise.all([
      checks ?? host.checkServingPods(),
      metrics ?? host.metrics?.() ?? Promise.resolve([]),
    ])
    const judged = withMetrics(verdict(samples, pods), analysis.metrics, asked)
    const v = judged.verdict
    if (judged.metricFailure) host.record?.('metric', judged.metricFailure)
    host.onInterval?.(it, v, samples)
    host.state.lastAnalysis = {
      at: new Date(clock.now()).toISOString(),
      ok: v.ok,
      reason: v.reason,
      canaryRequests: v.canary.requests,
      canaryErrors: v.canary.errors,
      p99Ms: v.canary.p99 && Math.round(v.canary.p99),
    }
    if (!v.ok) {
      host.sawFailure(clock.now())
      host.state.failedChecks = (host.state.failedChecks ?? 0) + 1
    }
    // a passing last interval goes out with the transition that follows it (next step,
    // promotion or pause all write the state); a failed check is written at once, so a
    // resumed release still counts it
    if (it < analysis.iterations - 1 || !v.ok) await host.writeState(!v.ok)
    h.update(
      `interval ${it + 1}/${analysis.iterations}: ${v.ok ? 'ok' : `failed: ${v.reason}`} (canary ${v.canary.requests} req, ${v.canary.errors} err${v.canary.p99 !== undefined ? `, p99 ${Math.round(v.canary.p99)}ms` : ''})`,
    )
    const next = afterInterval({
      ok: v.ok,
      fatal: Boolean(v.fatal),
      failedChecks: host.state.failedChecks ?? 0,
      threshold: analysis.threshold,
    })
    if (next === 'rollback') host.rollback(v.reason ?? 'analysis failed')
  }
}
