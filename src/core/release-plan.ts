import { splitReplicas } from './replica-split.js'

export interface PlanStep {
  /** Canary weight asked for, percent. */
  weight: number
  stable: number
  canary: number
  /** The share of pods the canary really has: the traffic share on a plain Service. */
  actualPercent: number
}

/**
 * The steps of a replica-ratio canary: one per weight, with the real pod ratio. Weights that
 * give the same ratio as the previous step are dropped (they would wait for nothing).
 *
 *   planSteps(4, [25, 50, 75]) → [{ weight: 25, stable: 3, canary: 1, actualPercent: 25 },
 *                                 { weight: 50, stable: 2, canary: 2, actualPercent: 50 },
 *                                 { weight: 75, stable: 1, canary: 3, actualPercent: 75 }]
 */
export function planSteps(total: number, weights: number[]): PlanStep[] {
  const out: PlanStep[] = []
  for (const weight of weights) {
    const s = splitReplicas(total, weight)
    const prev = out[out.length - 1]
    if (prev && prev.canary === s.canary) continue
    out.push({ weight, ...s, actualPercent: Math.round((s.canary / total) * 1000) / 10 })
  }
  return out
}

/**
 * Parses `--steps 25,50,75`: ascending weights between 1 and 99.
 *
 *   parseSteps('25,50,75') → [25, 50, 75];  parseSteps('50,25') → error
 */
export function parseSteps(text: string): { ok: true; steps: number[] } | { ok: false; problem: string } {
  const parts = text.split(',').map((s) => s.trim())
  const steps = parts.map(Number)
  if (parts.some((p) => p === '') || steps.some((n) => !Number.isFinite(n) || n < 1 || n > 99)) {
    return { ok: false, problem: `steps "${text}" must be weights between 1 and 99` }
  }
  if (steps.some((n, i) => i > 0 && n <= steps[i - 1]))
    return { ok: false, problem: `steps "${text}" must be ascending` }
  return { ok: true, steps }
}

/** How long before a step's analysis ends the next step's canary pods start (image pull and readiness on a Pi fit in it). */
export const PREWARM_LEAD_MS = 15_000

/**
 * When, counted from the start of a step's analysis, the next step's canary pods are started:
 * `PREWARM_LEAD_MS` before the analysis ends, never before it starts, and never longer ahead
 * than half the progress deadline (pods held unready longer would mark the canary Deployment
 * ProgressDeadlineExceeded).
 *
 *   prewarmDelayMs(30_000, 60_000) → 15_000   // 3 × 10 s: the last 15 s
 *   prewarmDelayMs(4_000, 60_000)  → 0        // 2 × 2 s: at once
 *   prewarmDelayMs(30_000, 20_000) → 20_000   // a 20 s deadline: 10 s ahead
 */
export function prewarmDelayMs(analysisMs: number, progressDeadlineMs: number): number {
  return Math.max(0, analysisMs - Math.min(PREWARM_LEAD_MS, progressDeadlineMs / 2))
}
