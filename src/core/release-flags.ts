import { type AnalysisConfig, analysisSchema, stepsSchema, webhookUrl } from './config.js'
import { parseSteps } from './release-plan.js'

export interface ReleaseFlagValues {
  interval?: string
  iterations?: number
  load?: number
  steps?: string
  notify?: string[]
}

export type ReleaseSettings =
  | { ok: true; analysis: AnalysisConfig; steps: number[]; notify: string[] }
  | { ok: false; problem: string; hint: string }

/** The file's defaults: flags are checked against them before edgecanary.yaml is read. */
export const defaultReleaseSettings = () => ({
  analysis: analysisSchema.parse({}),
  steps: [25, 50, 75],
  notify: [] as string[],
})

const FLAG_OF: Record<string, string> = { interval: '--interval', iterations: '--iterations', load: '--load' }

/**
 * The analysis, steps and webhooks a release runs with: edgecanary.yaml's, overridden by the
 * flags, each flag checked by the very schema that checks the file (same bounds, same words),
 * so that a flag can never start a release the file would refuse.
 *
 *   releaseSettings({ analysis, steps: [25, 50, 75], notify: [] }, { iterations: 1e20 })
 *     → { ok: false, problem: '--iterations 100000000000000000000: too big: expected number to be <=100', hint: … }
 *   releaseSettings({ analysis, steps: [25, 50, 75], notify: [] }, { interval: '2s', steps: '50' })
 *     → { ok: true, analysis: { …, interval: '2s' }, steps: [50], notify: [] }
 */
export function releaseSettings(
  cfg: { analysis: AnalysisConfig; steps: number[]; notify: string[] },
  flags: ReleaseFlagValues,
): ReleaseSettings {
  const merged = {
    ...cfg.analysis,
    ...(flags.interval !== undefined ? { interval: flags.interval } : {}),
    ...(flags.iterations !== undefined ? { iterations: flags.iterations } : {}),
    ...(flags.load !== undefined ? { load: flags.load } : {}),
  }
  const a = analysisSchema.safeParse(merged)
  if (!a.success) {
    // the last problem of the first field: for 1e20, "<=100" rather than the safe-integer bound
    const key = String(a.error.issues[0].path[0] ?? '')
    const issue = a.error.issues.filter((i) => String(i.path[0] ?? '') === key).at(-1) ?? a.error.issues[0]
    const flag = FLAG_OF[key]
    const value = flag ? (flags as Record<string, unknown>)[key] : undefined
    return {
      ok: false,
      problem: `${flag && value !== undefined ? `${flag} ${value}` : `analysis.${key}`}: ${lower(issue.message)}`,
      hint: `analysis.${key} in edgecanary.yaml takes the same values; see edgecanary release --help`,
    }
  }
  let steps = cfg.steps
  if (flags.steps !== undefined) {
    const p = parseSteps(flags.steps)
    if (!p.ok) return { ok: false, problem: p.problem, hint: 'e.g. --steps 25,50,75' }
    const s = stepsSchema().safeParse(p.steps)
    if (!s.success)
      return {
        ok: false,
        problem: `--steps ${flags.steps}: ${lower(s.error.issues[0].message)}`,
        hint: 'e.g. --steps 25,50,75',
      }
    steps = s.data
  }
  for (const url of flags.notify ?? []) {
    const u = webhookUrl.safeParse(url)
    if (!u.success)
      return {
        ok: false,
        problem: `--notify "${url.slice(0, 200)}": ${lower(u.error.issues[0].message)}`,
        hint: 'pass the webhook URL of Slack, Teams, Discord or any JSON endpoint, e.g. --notify https://hooks.example/abc',
      }
  }
  return { ok: true, analysis: a.data, steps, notify: [...cfg.notify, ...(flags.notify ?? [])] }
}

const lower = (m: string) => m.charAt(0).toLowerCase() + m.slice(1)

/**
 * `--env K=V` flags as the canary's extra environment (the first `=` splits; the value may hold more).
 *
 *   envFlags(['FAIL_RATE=0.3', 'A=b=c']) → { ok: true, env: { FAIL_RATE: '0.3', A: 'b=c' } }
 *   envFlags(['=x']) → { ok: false, problem: '--env "=x" is not K=V', hint: 'e.g. --env FAIL_RATE=0.3' }
 */
export function envFlags(
  pairs: readonly string[] = [],
): { ok: true; env: Record<string, string> } | { ok: false; problem: string; hint: string } {
  const env: Record<string, string> = {}
  for (const kv of pairs) {
    const i = kv.indexOf('=')
    if (i < 1) return { ok: false, problem: `--env "${kv}" is not K=V`, hint: 'e.g. --env FAIL_RATE=0.3' }
    env[kv.slice(0, i)] = kv.slice(i + 1)
  }
  return { ok: true, env }
}
