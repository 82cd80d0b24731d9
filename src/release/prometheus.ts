import { type MetricCheck, type MetricResult, parseQueryResponse, renderQuery } from '../core/prometheus.js'
import { httpFetch } from '../registry/http.js'

/** Prometheus answers of more than this are not read (one number is a few hundred bytes). */
const MAX_ANSWER = 1 << 20

/**
 * Runs each metric's query (placeholders filled) against Prometheus' `/api/v1/query`, all at
 * once. Never throws: an unreachable Prometheus, a timeout, an error answer or a query without
 * one number is that metric's `error`, which the analysis counts as a failed check.
 */
export async function queryMetrics(
  base: string,
  checks: MetricCheck[],
  vars: { app: string; namespace: string; track: string; interval: string },
  timeoutMs = 5000,
): Promise<MetricResult[]> {
  return Promise.all(
    checks.map(async (c): Promise<MetricResult> => {
      const url = new URL('api/v1/query', base.endsWith('/') ? base : `${base}/`)
      url.searchParams.set('query', renderQuery(c.query, vars))
      try {
        const res = await httpFetch(url, {
          headers: { accept: 'application/json' },
          signal: AbortSignal.timeout(timeoutMs),
        })
        if (Number(res.headers.get('content-length') ?? 0) > MAX_ANSWER)
          return { name: c.name, error: 'Prometheus answer too large' }
        const text = await res.text()
        let body: unknown
        try {
          body = JSON.parse(text)
        } catch {
          return { name: c.name, error: `Prometheus answered HTTP ${res.status}, not JSON` }
        }
        const r = parseQueryResponse(body)
        return 'value' in r ? { name: c.name, value: r.value } : { name: c.name, error: r.error }
      } catch (err) {
        const e = err as Error & { cause?: { code?: string }; code?: string }
        const why =
          e.name === 'TimeoutError' || e.name === 'AbortError'
            ? `no answer in ${timeoutMs} ms`
            : (e.cause?.code ?? e.code ?? e.message)
        return { name: c.name, error: `Prometheus unreachable (${why})` }
      }
    }),
  )
}
