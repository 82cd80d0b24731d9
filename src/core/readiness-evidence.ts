/** One answer of a canary pod's endpoint: from the kubelet's readiness probe (its `Unhealthy` event) or edgecanary's own probe through the pod proxy. */
export interface ProbeObservation {
  /** When it was seen, ms since the epoch. */
  at: number
  source: 'kubelet' | 'edgecanary'
  endpoint: string
  /** The HTTP status; undefined when there was no answer (refused, timed out). */
  status?: number
  /** The connection was refused: nothing listens on the port. */
  refused?: boolean
  /** The body of a 200 from /version. */
  version?: string
}

const failed = (o: ProbeObservation) => o.refused === true || o.status !== 200

/**
 * Reads the kubelet's probe failure message (`Unhealthy` events) as an observation of the
 * probed path: `HTTP probe failed with statuscode: 503`, or a dial error (`connection refused`).
 * Undefined for anything else (a liveness failure, an exec probe).
 *
 *   kubeletObservation('Readiness probe failed: HTTP probe failed with statuscode: 503', 5, '/health')
 *   → { at: 5, source: 'kubelet', endpoint: '/health', status: 503 }
 */
export function kubeletObservation(
  message: string,
  at: number,
  endpoint: string,
): ProbeObservation | undefined {
  if (!/^Readiness probe failed/i.test(message)) return undefined
  const code = /statuscode:\s*(\d{3})/i.exec(message)
  if (code) return { at, source: 'kubelet', endpoint, status: Number(code[1]) }
  if (/connection refused/i.test(message)) return { at, source: 'kubelet', endpoint, refused: true }
  // a timeout or another transport error: no answer
  return { at, source: 'kubelet', endpoint }
}

/**
 * Decides, from the answers of one canary pod's `/health` and `/version` since its container
 * started, whether it is broken for good, so the release rolls back within seconds instead of
 * waiting for the readiness deadline or a CrashLoopBackOff:
 *
 * - a `/version` that answers 200 with another version is wrong at once (it will not change);
 * - otherwise, once the warm-up allowance since the container started has passed, an endpoint
 *   whose last `minFailures` or more answers all failed (non-200, refused, no answer) with no
 *   success in between is persistent failure.
 *
 * Returns the reason naming the endpoint and the answer, or undefined while nothing is decided.
 *
 *   readinessVerdict({ pod: 'c', target: '2.0', startedAt: 0, now: 4000, warmupMs: 3000, minFailures: 3,
 *     observations: [503 at 1000, 503 at 2000, 503 at 3000, 503 at 4000 on /health] })
 *   → 'canary /health answered 503 on 4 probes over 3.0 s (pod c)'
 */
export function readinessVerdict(o: {
  pod: string
  target: string
  startedAt: number
  now: number
  warmupMs: number
  minFailures: number
  observations: ProbeObservation[]
}): string | undefined {
  // event times are whole seconds: an answer in the start's second counts
  const since = Math.floor(o.startedAt / 1000) * 1000
  const obs = o.observations.filter((x) => x.at >= since).sort((a, b) => a.at - b.at)
  const wrong = obs.find(
    (x) => x.endpoint === '/version' && x.status === 200 && x.version !== undefined && x.version !== o.target,
  )
  if (wrong) return `canary /version is "${wrong.version}", expected "${o.target}" (pod ${o.pod})`
  if (o.now - o.startedAt < o.warmupMs) return undefined
  for (const endpoint of [...new Set(obs.map((x) => x.endpoint))].sort()) {
    const mine = obs.filter((x) => x.endpoint === endpoint)
    let i = mine.length
    while (i > 0 && failed(mine[i - 1])) i--
    const run = mine.slice(i)
    if (run.length < o.minFailures) continue
    const last = run[run.length - 1]
    const answer = last.refused
      ? 'refused the connection'
      : last.status === undefined
        ? 'did not answer'
        : `answered ${last.status}`
    const span = ((last.at - run[0].at) / 1000).toFixed(1)
    return `canary ${endpoint} ${answer} on ${run.length} probes over ${span} s (pod ${o.pod})`
  }
  return undefined
}

/**
 * The warm-up a starting canary gets before failed probes count: `periods` of its readiness
 * probe (Kubernetes' default period is 10 s), at least 1 s, at most the readiness deadline.
 *
 *   warmupAllowanceMs({ periodSeconds: 1 }, 60_000) → 3000
 *   warmupAllowanceMs(undefined, 60_000) → 30000
 */
export function warmupAllowanceMs(
  probe: { periodSeconds?: number } | undefined,
  deadlineMs: number,
  periods = 3,
): number {
  const period = (probe?.periodSeconds ?? 10) * 1000
  return Math.min(deadlineMs, Math.max(1000, periods * period))
}
