export interface RequestSample {
  version?: string
  status?: number
  error?: string
  latencyMs: number
}

export interface PodCheck {
  pod: string
  health?: number
  version?: string
  error?: string
}

export interface Thresholds {
  successRate: number
  maxLatencyMs: number
  minSamples: number
}

export interface IntervalVerdict {
  ok: boolean
  /** A failure that rolls back at once, whatever the threshold (a canary 5xx, a wrong /version). */
  fatal: boolean
  reason?: string
  canary: { requests: number; errors: number; successRate?: number; p99?: number }
  stable: { requests: number; errors: number; successRate?: number }
}

/**
 * The p-th percentile (nearest rank) of latencies.
 *
 *   percentile([10, 20, 30, 40], 50) → 20;  percentile([10, 20, 30, 40], 99) → 40;  percentile([], 99) → undefined
 */
export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

/**
 * Judges one analysis interval of a canary. Responses are attributed by version; the canary
 * fails on a 5xx (at once), a success rate or p99 outside the thresholds (only with enough
 * samples, and only when the stable is healthy at the same time, so a cluster-wide problem does
 * not blame the canary), or a pod whose /health or /version is wrong.
 *
 *   judgeInterval({ target: '2.0', samples: [{ version: '2.0', status: 500, latencyMs: 3 }], pods: [], thresholds })
 *   → { ok: false, fatal: true, reason: 'canary answered HTTP 500 (1 of 1 requests, success rate 0.0% < 99%)', … }
 */
export function judgeInterval(o: {
  target: string
  samples: RequestSample[]
  pods: PodCheck[]
  thresholds: Thresholds
}): IntervalVerdict {
  const canary = o.samples.filter((s) => s.version === o.target)
  const stable = o.samples.filter((s) => s.version !== undefined && s.version !== o.target)
  const errs = (xs: RequestSample[]) => xs.filter((s) => s.error || (s.status ?? 0) >= 500).length
  const rate = (xs: RequestSample[]) => (xs.length ? ((xs.length - errs(xs)) / xs.length) * 100 : undefined)
  const cErr = errs(canary)
  const sRate = rate(stable)
  const p99 = percentile(
    canary.filter((s) => !s.error).map((s) => s.latencyMs),
    99,
  )
  const base = {
    canary: { requests: canary.length, errors: cErr, successRate: rate(canary), p99 },
    stable: { requests: stable.length, errors: errs(stable), successRate: sRate },
  }
  for (const p of o.pods) {
    if (p.error) return { ok: false, fatal: false, reason: `canary pod ${p.pod}: ${p.error}`, ...base }
    if (p.health !== 200)
      return { ok: false, fatal: false, reason: `canary pod ${p.pod}: /health answered ${p.health}`, ...base }
    if (p.version !== o.target) {
      return {
        ok: false,
        fatal: true,
        reason: `canary pod ${p.pod}: /version is "${p.version}", expected "${o.target}"`,
        ...base,
      }
    }
  }
  const stableHealthy = sRate === undefined || sRate >= o.thresholds.successRate
  const fiveHundreds = canary.filter((s) => (s.status ?? 0) >= 500)
  if (fiveHundreds.length > 0 && stableHealthy) {
    return {
      ok: false,
      fatal: true,
      // the success-rate gate, decided at the first 5xx rather than at the end of the interval
      reason: `canary answered HTTP ${fiveHundreds[0].status} (${fiveHundreds.length} of ${canary.length} requests, success rate ${(rate(canary) ?? 0).toFixed(1)}% < ${o.thresholds.successRate}%)`,
      ...base,
    }
  }
  if (canary.length >= o.thresholds.minSamples && canary.length > 0) {
    const cRate = rate(canary) ?? 100
    if (cRate < o.thresholds.successRate && stableHealthy) {
      return {
        ok: false,
        fatal: false,
        reason: `canary success rate ${cRate.toFixed(1)}% < ${o.thresholds.successRate}%`,
        ...base,
      }
    }
    if (p99 !== undefined && p99 > o.thresholds.maxLatencyMs) {
      return {
        ok: false,
        fatal: false,
        reason: `canary p99 latency ${Math.round(p99)}ms > ${o.thresholds.maxLatencyMs}ms`,
        ...base,
      }
    }
  }
  return { ok: true, fatal: false, ...base }
}
