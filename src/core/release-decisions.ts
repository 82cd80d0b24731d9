/** The release states a start decision reads (the stable Deployment's stored state). */
export interface PriorRelease {
  version: string
  phase: string
}

/** Phases after which a release is over: a new release may start. */
export const OVER = ['Succeeded', 'RolledBack', 'Aborted']

export type StartDecision =
  | { action: 'start' }
  | { action: 'resume' }
  | { action: 'noop' }
  | { action: 'refuse'; running: string; phase: string }

/**
 * What `release <version>` does given the release stored in the cluster: nothing when that
 * version is already Succeeded; resume when a release of the same version is unfinished;
 * refuse when another version's release is unfinished (finish it first); else start.
 *
 *   startDecision(undefined, '2.0') → { action: 'start' }
 *   startDecision({ version: '2.0', phase: 'Succeeded' }, '2.0') → { action: 'noop' }
 *   startDecision({ version: '2.0', phase: 'Paused' }, '2.0') → { action: 'resume' }
 *   startDecision({ version: '2.0', phase: 'Progressing' }, '3.0') → { action: 'refuse', running: '2.0', phase: 'Progressing' }
 */
export function startDecision(prior: PriorRelease | undefined, version: string): StartDecision {
  if (!prior) return { action: 'start' }
  if (prior.version === version && prior.phase === 'Succeeded') return { action: 'noop' }
  if (OVER.includes(prior.phase)) return { action: 'start' }
  if (prior.version === version) return { action: 'resume' }
  return { action: 'refuse', running: prior.version, phase: prior.phase }
}

/**
 * After an analysis interval: roll back on a fatal failure (a canary 5xx) or once the failed
 * checks of the whole release reach the threshold (counted across steps, as Flagger does).
 *
 *   afterInterval({ ok: false, fatal: false, failedChecks: 1, threshold: 2 }) → 'continue'
 *   afterInterval({ ok: false, fatal: false, failedChecks: 2, threshold: 2 }) → 'rollback'
 *   afterInterval({ ok: false, fatal: true, failedChecks: 1, threshold: 5 }) → 'rollback'
 */
export function afterInterval(o: {
  ok: boolean
  fatal: boolean
  failedChecks: number
  threshold: number
}): 'continue' | 'rollback' {
  if (o.ok) return 'continue'
  return o.fatal || o.failedChecks >= o.threshold ? 'rollback' : 'continue'
}

/** One probe of a canary pod by the pre-traffic gate. */
export interface GateProbe {
  health?: number
  /** /version's body when it answered 200. */
  version?: string
  /** Why /version gave no version (`/version answered 500`). */
  error?: string
}

export type GateDecision = { action: 'pass' } | { action: 'retry' } | { action: 'fail'; reason: string }

/**
 * The pre-traffic gate's rule for one pod after `attempt` probes (1-based): a wrong version
 * fails at once (it will not change); /health 200 with the target version passes; any other
 * answer is tried again, up to `attempts` probes in all (one flaky answer does not decide),
 * then fails naming the answer.
 *
 *   gateDecision({ health: 200, version: '2.0' }, 1, '2.0') → { action: 'pass' }
 *   gateDecision({ health: 200, version: '1.0' }, 1, '2.0') → { action: 'fail', reason: '/version is "1.0", expected "2.0"' }
 *   gateDecision({ health: 503, version: '2.0' }, 1, '2.0') → { action: 'retry' }
 *   gateDecision({ health: 503, version: '2.0' }, 3, '2.0') → { action: 'fail', reason: '/health answered 503' }
 */
export function gateDecision(p: GateProbe, attempt: number, target: string, attempts = 3): GateDecision {
  if (p.version !== undefined && p.version !== target) {
    return { action: 'fail', reason: `/version is "${p.version}", expected "${target}"` }
  }
  if (!p.error && p.health === 200 && p.version === target) return { action: 'pass' }
  if (attempt < attempts) return { action: 'retry' }
  if (p.error) return { action: 'fail', reason: p.error }
  return { action: 'fail', reason: `/health answered ${p.health}` }
}

/**
 * Replica counts that differ from the current step's plan: someone scaled by hand. Undefined
 * when both match.
 *
 *   driftOf({ stable: 3, canary: 1 }, { stable: 3, canary: 2 }, { app: 'kubeapp', step: 1 })
 *   → 'kubeapp-canary scaled to 2 outside edgecanary (step 1 expects 1)'
 */
export function driftOf(
  planned: { stable: number; canary: number },
  actual: { stable: number; canary: number },
  o: { app: string; step: number },
): string | undefined {
  const found: string[] = []
  if (actual.canary !== planned.canary)
    found.push(
      `${o.app}-canary scaled to ${actual.canary} outside edgecanary (step ${o.step} expects ${planned.canary})`,
    )
  if (actual.stable !== planned.stable)
    found.push(
      `${o.app} scaled to ${actual.stable} outside edgecanary (step ${o.step} expects ${planned.stable})`,
    )
  return found.join('; ') || undefined
}

/**
 * When the canary's first 5xx through the Service was answered (the moment the 5xx rule's
 * rollback counts from): the earliest sample of the target version with a status ≥ 500.
 *
 *   firstCanary5xx([{ version: '2.0', status: 200, at: 1 }, { version: '2.0', status: 502, at: 2 }], '2.0') → 2
 */
export function firstCanary5xx(
  samples: { version?: string; status?: number; at?: number }[],
  target: string,
): number | undefined {
  const bad = samples.filter((s) => s.version === target && (s.status ?? 0) >= 500 && s.at !== undefined)
  return bad.length > 0 ? Math.min(...bad.map((s) => s.at ?? 0)) : undefined
}

/** A passing analysis interval is stored at most this often (status shows it); a failure at once. */
export const PROGRESS_WRITE_MS = 10_000

/**
 * Whether an analysis interval's result is written to the cluster now: a failed check at once
 * (it counts toward the threshold, also after a resume); a passing one only when the state was
 * last written `minMs` or more ago, else it goes out with the next write (the next interval's,
 * the next step's or the promotion's). At the default 10 s intervals each one is written; at
 * 2 s intervals one in five, which keeps a short release's API requests down.
 *
 *   progressWriteDue(true, 500) → true
 *   progressWriteDue(false, 2_000) → false
 *   progressWriteDue(false, 10_000) → true
 */
export function progressWriteDue(
  failed: boolean,
  sinceLastWriteMs: number,
  minMs = PROGRESS_WRITE_MS,
): boolean {
  return failed || sinceLastWriteMs >= minMs
}

/**
 * Whether a resumed release goes straight on promoting: one stopped while Promoting or
 * Finalising (going back to its last step would scale the already-updated stable down again).
 *
 *   resumesInPromotion(true, 'Finalising') → true
 *   resumesInPromotion(true, 'Paused') → false
 *   resumesInPromotion(false, 'Promoting') → false
 */
export function resumesInPromotion(resumed: boolean, phase: string): boolean {
  return resumed && (phase === 'Promoting' || phase === 'Finalising')
}

/** What another terminal asked of a running release (`edgecanary promote [--step]`, `abort`). */
export type RequestAction = 'abort' | 'promote' | 'promote-step'

/**
 * The request annotation on the stable Deployment as an action; an absent or unknown value asks
 * nothing.
 *
 *   requestAction('abort') → 'abort'
 *   requestAction('promote-step') → 'promote-step'
 *   requestAction(undefined) → undefined
 */
export function requestAction(annotation: string | undefined): RequestAction | undefined {
  return annotation === 'abort' || annotation === 'promote' || annotation === 'promote-step'
    ? annotation
    : undefined
}

/**
 * Whether the next step's canary pods start near the end of this step's analysis (held out of
 * the Service by the readiness gate until that step's gate): only when the next step has more
 * canary pods, and not when pausing (the next step waits for a person and may never come).
 * `i` is this step's index; the step named is 1-based.
 *
 *   warmAhead(false, 0, { canary: 1 }, { canary: 2 }) → { replicas: 2, step: 2 }
 *   warmAhead(true, 0, { canary: 1 }, { canary: 2 }) → undefined
 *   warmAhead(false, 2, { canary: 4 }, undefined) → undefined
 */
export function warmAhead(
  pause: boolean,
  i: number,
  current: { canary: number },
  next: { canary: number } | undefined,
): { replicas: number; step: number } | undefined {
  if (pause || !next || next.canary <= current.canary) return undefined
  return { replicas: next.canary, step: i + 2 }
}

/**
 * A step's line once its analysis is over.
 *
 *   stepSummary({ stable: 3, canary: 1 }, 0, 0, 2) → '3:1 healthy'
 *   stepSummary({ stable: 3, canary: 1 }, 1, 2, 5) → '3:1 — 1 failed check(s), 2 of threshold 5 so far'
 */
export function stepSummary(
  s: { stable: number; canary: number },
  failedHere: number,
  failedTotal: number,
  threshold: number,
): string {
  return failedHere === 0
    ? `${s.stable}:${s.canary} healthy`
    : `${s.stable}:${s.canary} — ${failedHere} failed check(s), ${failedTotal} of threshold ${threshold} so far`
}

/**
 * When a crashed canary's failure began: the earliest end of one of its containers (this or
 * the last run), else `now`.
 *
 *   failureStart([{ lastState: { terminated: { finishedAt: '2026-01-01T00:00:01Z' } } }], 9) → 1767225601000
 *   failureStart([{}], 9) → 9
 */
export function failureStart(
  statuses: {
    state?: { terminated?: { finishedAt?: string } }
    lastState?: { terminated?: { finishedAt?: string } }
  }[],
  now: number,
): number {
  const ended = statuses
    .map((c) => Date.parse(c.lastState?.terminated?.finishedAt ?? c.state?.terminated?.finishedAt ?? ''))
    .filter(Number.isFinite)
  return ended.length > 0 ? Math.min(...ended) : now
}

/**
 * The rollback reason when canary pods never passed their readiness probe by the deadline:
 * how many were Ready, and what each one waits on.
 *
 *   readinessDeadlineReason([{ name: 'c-1', waiting: 'CrashLoopBackOff' }], 0, 1, 30_000)
 *   → 'readiness deadline: 0/1 canary pod(s) Ready after 30s (c-1: CrashLoopBackOff); /health never answered 200'
 */
export function readinessDeadlineReason(
  pods: { name: string; waiting?: string; phase?: string }[],
  ready: number,
  n: number,
  deadlineMs: number,
): string {
  const why = pods.map((p) => `${p.name}: ${p.waiting ?? p.phase ?? 'Pending'}`).join(', ')
  return `readiness deadline: ${ready}/${n} canary pod(s) Ready after ${deadlineMs / 1000}s (${why}); /health never answered 200`
}

/**
 * The rollback reason when the canary Deployment's Progressing condition says
 * ProgressDeadlineExceeded; undefined otherwise.
 *
 *   progressDeadlineReason('kubeapp-canary', 60, [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'm' }])
 *   → 'progress deadline: kubeapp-canary made no progress in 60s (m)'
 */
export function progressDeadlineReason(
  name: string,
  deadlineSeconds: number | undefined,
  conditions: { type: string; status: string; reason?: string; message?: string }[] | undefined,
): string | undefined {
  const p = conditions?.find((x) => x.type === 'Progressing')
  if (p?.status !== 'False' || p.reason !== 'ProgressDeadlineExceeded') return undefined
  return `progress deadline: ${name} made no progress in ${deadlineSeconds ?? 60}s (${p.message ?? 'ProgressDeadlineExceeded'})`
}

/**
 * After a promotion, the first new stable pod that does not answer the released version.
 *
 *   promotionMismatch([{ pod: 'a', version: '2.0' }, { pod: 'b', version: 'HTTP 500' }], '2.0')
 *   → 'after promotion b answers /version "HTTP 500"'
 */
export function promotionMismatch(
  answers: { pod: string; version: string }[],
  target: string,
): string | undefined {
  const bad = answers.find((c) => c.version !== target)
  return bad ? `after promotion ${bad.pod} answers /version "${bad.version}"` : undefined
}
