/** A metric check of edgecanary.yaml's `analysis.metrics`. */
export interface MetricCheck {
  name: string
  query: string
  min?: number
  max?: number
}

/** What one query gave: a number, or why there is none. */
export type MetricResult = { name: string; value: number } | { name: string; error: string }

/**
 * A duration in Prometheus' syntax for a range selector (whole units, no decimals).
 *
 *   promDuration(10_000) → '10s';  promDuration(1500) → '1500ms';  promDuration(120_000) → '2m'
 */
export function promDuration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`
  if (ms % 1000 === 0) return `${ms / 1000}s`
  return `${Math.round(ms)}ms`
}

/**
 * Fills a query's placeholders (`{{app}}`, `{{namespace}}`, `{{track}}`, `{{interval}}`, spaces
 * inside the braces allowed). Values are label values and a duration, so a `"` or `\` in them is
 * escaped as PromQL string literals need.
 *
 *   renderQuery('sum(rate(http_requests_total{app="{{app}}",track="{{ track }}"}[{{interval}}]))', { app: 'kubeapp', namespace: 'production', track: 'canary', interval: '10s' })
 *   → 'sum(rate(http_requests_total{app="kubeapp",track="canary"}[10s]))'
 */
export function renderQuery(
  query: string,
  vars: { app: string; namespace: string; track: string; interval: string },
): string {
  return query.replace(/{{\s*(app|namespace|track|interval)\s*}}/g, (_, k: keyof typeof vars) =>
    vars[k].replaceAll('\\', '\\\\').replaceAll('"', '\\"'),
  )
}

/**
 * The one number of a Prometheus `/api/v1/query` answer: a scalar, or a vector of exactly one
 * sample (aggregate with sum() or avg() for more). NaN (0/0, e.g. no requests yet) is no data.
 *
 *   parseQueryResponse({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, '0.25'] }] } }) → { value: 0.25 }
 *   parseQueryResponse({ status: 'error', errorType: 'bad_data', error: 'parse error' }) → { error: 'bad_data: parse error' }
 */
export function parseQueryResponse(body: unknown): { value: number } | { error: string } {
  const b = body as {
    status?: string
    error?: string
    errorType?: string
    data?: { resultType?: string; result?: unknown }
  }
  if (!b || typeof b !== 'object') return { error: 'not a Prometheus API answer' }
  if (b.status !== 'success') return { error: `${b.errorType ?? 'error'}: ${b.error ?? 'query failed'}` }
  const { resultType, result } = b.data ?? {}
  let raw: unknown
  if (resultType === 'scalar') raw = (result as unknown[])?.[1]
  else if (resultType === 'vector') {
    const v = result as { value?: unknown[] }[]
    if (!Array.isArray(v) || v.length === 0) return { error: 'no data (the query matched no series)' }
    if (v.length > 1) return { error: `${v.length} series; aggregate them to one (sum, avg, max)` }
    raw = v[0].value?.[1]
  } else return { error: `result type ${resultType ?? 'unknown'}; use a query that gives one number` }
  const value = Number(raw)
  if (typeof raw !== 'string' || Number.isNaN(value)) return { error: 'no data (the value is NaN)' }
  return { value }
}

/**
 * Judges the metric checks of one interval: the first value outside its range, or the first
 * query without a value (Prometheus unreachable, a query error, no data), fails the check,
 * named by the metric.
 *
 *   judgeMetrics([{ name: 'error-rate', query: '…', max: 0.01 }], [{ name: 'error-rate', value: 0.5 }])
 *   → { ok: false, reason: 'metric error-rate = 0.5, above its max 0.01' }
 */
export function judgeMetrics(
  checks: MetricCheck[],
  results: MetricResult[],
): { ok: boolean; reason?: string } {
  for (const c of checks) {
    const r = results.find((x) => x.name === c.name)
    if (!r) return { ok: false, reason: `metric ${c.name}: no answer` }
    if ('error' in r) return { ok: false, reason: `metric ${c.name}: ${r.error}` }
    const v = Math.round(r.value * 1e6) / 1e6
    if (c.min !== undefined && r.value < c.min)
      return { ok: false, reason: `metric ${c.name} = ${v}, below its min ${c.min}` }
    if (c.max !== undefined && r.value > c.max)
      return { ok: false, reason: `metric ${c.name} = ${v}, above its max ${c.max}` }
  }
  return { ok: true }
}
