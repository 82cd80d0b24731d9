/** What the Job controller reads from a Job's spec (batch/v1, defaults applied). */
export interface JobSpecView {
  completions?: number | null
  parallelism: number
  backoffLimit: number
  activeDeadlineSeconds?: number
  suspend?: boolean
}

/** Pod counts of one Job: `failures` counts failed pods and, for OnFailure, container restarts. */
export interface JobCounts {
  active: number
  succeeded: number
  failures: number
}

export type JobDecision =
  | { kind: 'run'; create: number; remove: number }
  | { kind: 'complete' }
  | { kind: 'failed'; reason: 'BackoffLimitExceeded' | 'DeadlineExceeded'; message: string }

/**
 * One sync of pkg/controller/job: fail past backoffLimit or activeDeadlineSeconds, complete
 * once `completions` pods succeeded (without completions: once one succeeded and none is
 * active), else keep min(parallelism, completions − succeeded) pods active.
 *
 *   jobDecision({ completions: 3, parallelism: 2, backoffLimit: 6 }, { active: 0, succeeded: 0, failures: 0 }, 0)
 *     → { kind: 'run', create: 2, remove: 0 }
 *   jobDecision({ completions: 1, parallelism: 1, backoffLimit: 1 }, { active: 0, succeeded: 0, failures: 2 }, 0)
 *     → { kind: 'failed', reason: 'BackoffLimitExceeded', … }
 */
export function jobDecision(spec: JobSpecView, c: JobCounts, runningForMs: number): JobDecision {
  if (c.failures > spec.backoffLimit)
    return {
      kind: 'failed',
      reason: 'BackoffLimitExceeded',
      message: 'Job has reached the specified backoff limit',
    }
  if (spec.activeDeadlineSeconds !== undefined && runningForMs >= spec.activeDeadlineSeconds * 1000)
    return {
      kind: 'failed',
      reason: 'DeadlineExceeded',
      message: 'Job was active longer than specified deadline',
    }
  const completions = spec.completions ?? undefined
  if (completions !== undefined && c.succeeded >= completions) return { kind: 'complete' }
  if (completions === undefined && c.succeeded > 0 && c.active === 0) return { kind: 'complete' }
  if (spec.suspend) return { kind: 'run', create: 0, remove: c.active }
  const want =
    completions === undefined
      ? c.succeeded > 0
        ? 0
        : spec.parallelism
      : Math.min(spec.parallelism, completions - c.succeeded)
  return { kind: 'run', create: Math.max(0, want - c.active), remove: Math.max(0, c.active - want) }
}

/**
 * Delay before the Job controller creates a pod after `failures` failed ones: 10 s doubling,
 * capped at 6 minutes (`base` 10 s in Kubernetes; the sandbox passes its back-off base).
 *
 *   jobBackoffMs(0, 10000) → 0;  jobBackoffMs(1, 10000) → 10000;  jobBackoffMs(3, 10000) → 40000
 */
export function jobBackoffMs(failures: number, base: number): number {
  if (failures <= 0) return 0
  return Math.min(base * 2 ** (failures - 1), 360_000)
}
