import type { RequestSample } from '../core/analysis.js'
import { percentile } from '../core/analysis.js'

export interface VerifyReport {
  requests: number
  versions: { version: string; count: number; percent: number }[]
  errors: { kind: string; count: number }[]
  errorCount: number
  p50Ms?: number
  p99Ms?: number
}

/**
 * Summarizes results: counts and shares per version (answers with a 2xx–4xx status), errors
 * by kind (`HTTP 500`, `ECONNREFUSED`, `timeout`), p50/p99 of all answered requests.
 *
 *   summarize([{ version: '1.0', status: 200, latencyMs: 4 }, { error: 'ECONNREFUSED', latencyMs: 1 }])
 *   → { requests: 2, versions: [{ version: '1.0', count: 1, percent: 50 }], errors: [{ kind: 'ECONNREFUSED', count: 1 }], … }
 */
export function summarize(results: RequestSample[]): VerifyReport {
  const versions = new Map<string, number>()
  const errors = new Map<string, number>()
  for (const r of results) {
    const kind = r.error ?? ((r.status ?? 0) >= 500 ? `HTTP ${r.status}` : undefined)
    if (kind) errors.set(kind, (errors.get(kind) ?? 0) + 1)
    else versions.set(r.version ?? 'unknown', (versions.get(r.version ?? 'unknown') ?? 0) + 1)
  }
  const n = results.length
  const pct = (c: number) => (n ? Math.round((c / n) * 1000) / 10 : 0)
  const answered = results.filter((r) => !r.error).map((r) => r.latencyMs)
  return {
    requests: n,
    versions: [...versions]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([version, count]) => ({ version, count, percent: pct(count) })),
    errors: [...errors].map(([kind, count]) => ({ kind, count })),
    errorCount: [...errors.values()].reduce((a, b) => a + b, 0),
    p50Ms: round(percentile(answered, 50)),
    p99Ms: round(percentile(answered, 99)),
  }
}

function round(v: number | undefined): number | undefined {
  return v === undefined ? undefined : Math.round(v * 10) / 10
}

/**
 * A text bar chart of the version shares.
 *
 *   bars([{ version: '1.0', count: 75, percent: 75 }], 20) → ['1.0  ███████████████      75  75.0%']
 */
export function bars(rows: { version: string; count: number; percent: number }[], width = 40): string[] {
  const pad = Math.max(...rows.map((r) => r.version.length), 3)
  return rows.map(
    (r) =>
      `${r.version.padEnd(pad)}  ${'█'.repeat(Math.round((r.percent / 100) * width)).padEnd(width)}  ${String(r.count).padStart(5)}  ${r.percent.toFixed(1).padStart(5)}%`,
  )
}
