/**
 * Pure planning of a fleet release: waves over an ordered list of clusters, the flags that
 * shape them, and the fleet's state machine (which wave runs next, which clusters it resumes,
 * when the fleet stops). No I/O: src/fleet drives the clusters with these decisions.
 */

/** One entry of `--waves`: a cumulative count of clusters, absolute (`2`) or a share (`25%`). */
export type WaveMark = { count: number } | { percent: number }

/** The default plan: one cluster (the canary cluster), then the rest. */
export const DEFAULT_WAVES = '1,100%'
export const DEFAULT_PARALLEL = 4
export type OnFailure = 'abort-wave' | 'finish-wave'
export const ON_FAILURE: OnFailure[] = ['abort-wave', 'finish-wave']

type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string }

/**
 * Parses `--waves`: comma-separated cumulative marks, each a whole number of clusters (≥ 1) or
 * a percentage of the fleet (1–100 %). Whole numbers must ascend, percentages too.
 *
 *   parseWaves('1,25%,100%') → [{ count: 1 }, { percent: 25 }, { percent: 100 }]
 *   parseWaves('50%,10%')    → problem: must ascend
 */
export function parseWaves(text: string): Parsed<WaveMark[]> {
  const parts = text.split(',').map((p) => p.trim())
  if (text.length > 200 || parts.length > 50)
    return { ok: false, problem: `waves "${text.slice(0, 40)}…" is too long (at most 50 waves)` }
  const marks: WaveMark[] = []
  for (const p of parts) {
    const m = /^(\d{1,5})(%?)$/.exec(p)
    const n = m ? Number(m[1]) : Number.NaN
    if (!m || n < 1 || (m[2] && n > 100))
      return {
        ok: false,
        problem: `waves "${text}": "${p}" is neither a number of clusters (≥ 1) nor a percentage (1–100%)`,
      }
    marks.push(m[2] ? { percent: n } : { count: n })
  }
  const ascending = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1])
  const counts = marks.flatMap((m) => ('count' in m ? [m.count] : []))
  const percents = marks.flatMap((m) => ('percent' in m ? [m.percent] : []))
  if (!ascending(counts) || !ascending(percents))
    return { ok: false, problem: `waves "${text}" must ascend (each mark counts the clusters done so far)` }
  return { ok: true, value: marks }
}

/**
 * Splits an ordered list of clusters into waves. Each mark is the number of clusters done
 * once its wave is over: a percentage rounds up (`25%` of 8 → 2), a number larger than the
 * fleet is the whole fleet. A mark that adds no cluster gives no wave, and clusters left after
 * the last mark form a final wave.
 *
 *   planWaves(['a','b','c','d','e','f','g','h'], parseWaves('1,25%,100%'))
 *     → [['a'], ['b'], ['c','d','e','f','g','h']]
 *   planWaves(['a','b','c'], parseWaves('1,25%,100%'))   → [['a'], ['b','c']]   // 25% of 3 is 1
 *   planWaves(['a','b','c'], parseWaves('1'))            → [['a'], ['b','c']]   // the rest
 */
export function planWaves<T>(clusters: T[], marks: WaveMark[]): Parsed<T[][]> {
  const n = clusters.length
  const waves: T[][] = []
  let done = 0
  for (const m of marks) {
    const upTo = Math.min(n, 'count' in m ? m.count : Math.ceil((m.percent * n) / 100 - 1e-9))
    if (upTo < done)
      return {
        ok: false,
        problem: `waves go back: ${'count' in m ? m.count : `${m.percent}%`} is ${upTo} of ${n} clusters, after ${done}`,
      }
    if (upTo > done) waves.push(clusters.slice(done, upTo))
    done = Math.max(done, upTo)
  }
  if (done < n) waves.push(clusters.slice(done))
  return { ok: true, value: waves }
}

/**
 * Parses `--parallel N`: clusters released at once inside a wave, 1–64.
 *
 *   parseParallel(undefined) → 4;  parseParallel(0) → problem
 */
export function parseParallel(n: number | undefined): Parsed<number> {
  if (n === undefined) return { ok: true, value: DEFAULT_PARALLEL }
  if (!Number.isInteger(n) || n < 1 || n > 64)
    return { ok: false, problem: `--parallel ${n} must be a whole number from 1 to 64` }
  return { ok: true, value: n }
}

/**
 * Parses `--on-failure`: what happens to the other clusters of a wave when one rolls back.
 *
 *   parseOnFailure(undefined) → 'abort-wave';  parseOnFailure('finish-wave') → 'finish-wave'
 */
export function parseOnFailure(text: string | undefined): Parsed<OnFailure> {
  if (text === undefined) return { ok: true, value: 'abort-wave' }
  if ((ON_FAILURE as string[]).includes(text)) return { ok: true, value: text as OnFailure }
  return { ok: false, problem: `--on-failure "${text}" must be abort-wave or finish-wave` }
}

/**
 * Parses `--contexts a,b,c`: kubeconfig context names, each once, at most 200.
 *
 *   parseContexts('pi-shop-1, pi-shop-2') → ['pi-shop-1', 'pi-shop-2']
 */
export function parseContexts(text: string): Parsed<string[]> {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (names.length === 0) return { ok: false, problem: '--contexts names no context' }
  if (names.length > 200)
    return { ok: false, problem: `--contexts names ${names.length} contexts (at most 200)` }
  const bad = names.find((c) => c.length > 253 || !/^[A-Za-z0-9][A-Za-z0-9._@:/-]*$/.test(c))
  if (bad) return { ok: false, problem: `--contexts: "${bad.slice(0, 60)}" is not a context name` }
  const twice = names.find((c, i) => names.indexOf(c) !== i)
  if (twice) return { ok: false, problem: `--contexts names "${twice}" twice` }
  return { ok: true, value: names }
}

// ── the fleet's state machine ─────────────────────────────────────────────────────────────

/**
 * Where one cluster of the fleet is. `untouched`: nothing changed there yet; `running`: its
 * release is under way (or was, when the process died: then it is resumed); `done`: promoted;
 * `failed`: rolled back by its own analysis; `aborted`: rolled back because the fleet stopped
 * (or `edgecanary abort`); `skipped`: unreachable at preflight with --skip-unreachable.
 */
export type ClusterOutcome = 'untouched' | 'running' | 'done' | 'failed' | 'aborted' | 'skipped'

/** The fleet as a whole, as its record stores it. */
export type FleetPhase = 'Progressing' | 'Succeeded' | 'Stopped' | 'Aborted'

/** What to do next, given the waves and each cluster's outcome. */
export type FleetStep =
  | { kind: 'run'; wave: number; clusters: string[] }
  | { kind: 'succeeded' }
  | { kind: 'stopped'; wave: number; failed: string[] }

/**
 * The next step of a fleet: the first wave with a cluster not yet done runs (only its clusters
 * that are not done: a resume does not release a finished cluster again); a wave with a failed
 * or aborted cluster stops the fleet there, so no later wave ever starts; skipped clusters do
 * not hold a wave back.
 *
 *   nextFleetStep([['a'], ['b','c']], { a: 'done', b: 'running', c: 'done' })
 *     → { kind: 'run', wave: 1, clusters: ['b'] }
 *   nextFleetStep([['a'], ['b','c']], { a: 'failed' }) → { kind: 'stopped', wave: 0, failed: ['a'] }
 */
export function nextFleetStep(waves: string[][], outcomes: Record<string, ClusterOutcome>): FleetStep {
  for (let w = 0; w < waves.length; w++) {
    const of = (c: string) => outcomes[c] ?? 'untouched'
    const failed = waves[w].filter((c) => of(c) === 'failed' || of(c) === 'aborted')
    if (failed.length > 0) return { kind: 'stopped', wave: w, failed }
    const todo = waves[w].filter((c) => of(c) === 'untouched' || of(c) === 'running')
    if (todo.length > 0) return { kind: 'run', wave: w, clusters: todo }
  }
  return { kind: 'succeeded' }
}

/**
 * Inside a running wave, once a cluster has rolled back: whether the wave's other clusters are
 * aborted now (`abort-wave`) or allowed to finish (`finish-wave`), and whether clusters of the
 * wave that have not started yet (more than --parallel) start at all — they never do once the
 * fleet is stopping.
 *
 *   afterFailure('abort-wave')  → { abortRunning: true,  startPending: false }
 *   afterFailure('finish-wave') → { abortRunning: false, startPending: false }
 */
export function afterFailure(onFailure: OnFailure): { abortRunning: boolean; startPending: boolean } {
  return { abortRunning: onFailure === 'abort-wave', startPending: false }
}

/**
 * A cluster's place in the fleet from its own release state (what the cluster says, which wins
 * over a local file that may be stale): the fleet's version promoted there is `done`; the
 * fleet's version in a phase that is not final is `running` (to resume); rolled back or aborted
 * is `failed`/`aborted` only when the record of a fleet still in progress says it ran there,
 * otherwise `untouched` (an older attempt, released again). Whether a cluster is skipped is
 * decided afresh by each run's preflight, never recalled.
 *
 *   clusterOutcome('2.0', { version: '2.0', phase: 'Succeeded' }, 'running')  → 'done'
 *   clusterOutcome('2.0', { version: '2.0', phase: 'Interrupted' }, 'running') → 'running'
 *   clusterOutcome('2.0', { version: '1.0', phase: 'Succeeded' }, undefined)  → 'untouched'
 */
export function clusterOutcome(
  version: string,
  state: { version: string; phase: string } | undefined,
  recorded: ClusterOutcome | undefined,
): ClusterOutcome {
  if (!state || state.version !== version) return 'untouched'
  if (state.phase === 'Succeeded') return 'done'
  if (state.phase === 'RolledBack' || state.phase === 'Aborted') {
    if (recorded === 'failed' || recorded === 'aborted') return recorded
    return recorded === 'running' ? (state.phase === 'Aborted' ? 'aborted' : 'failed') : 'untouched'
  }
  return 'running'
}

/**
 * The fleet's phase from its clusters' outcomes.
 *
 *   fleetPhase([['a'], ['b']], { a: 'done', b: 'done' })  → 'Succeeded'
 *   fleetPhase([['a'], ['b']], { a: 'failed' })           → 'Stopped'
 */
export function fleetPhase(waves: string[][], outcomes: Record<string, ClusterOutcome>): FleetPhase {
  const next = nextFleetStep(waves, outcomes)
  if (next.kind === 'succeeded') return 'Succeeded'
  if (next.kind === 'stopped')
    return next.failed.every((c) => outcomes[c] === 'aborted') && !Object.values(outcomes).includes('failed')
      ? 'Aborted'
      : 'Stopped'
  return 'Progressing'
}
