import type { RequestSample } from '../core/analysis.js'
import { percentile } from '../core/analysis.js'

/** What one version answered: successful answers (`count`, `share` of all requests), its 5xx, its latency. */
export interface VersionFigures {
  count: number
  share: number
  errors: number
  p50Ms?: number
  p99Ms?: number
}

export interface VerifyReport {
  requests: number
  /** By the version that answered (`X-App-Version`), in version order. */
  versions: Record<string, VersionFigures>
  errors: { kind: string; count: number }[]
  errorCount: number
  p50Ms?: number
  p99Ms?: number
}

/**
 * Summarizes results: per version the successful answers and their share of all requests, the
 * 5xx that version answered and its p50/p99; errors by kind (`HTTP 500`, `ECONNREFUSED`,
 * `timeout`); p50/p99 of all answered requests.
 *
 *   summarize([{ version: '1.0', status: 200, latencyMs: 4 }, { version: '2.0', status: 500, latencyMs: 9 }, { error: 'ECONNREFUSED', latencyMs: 1 }])
 *   → { requests: 3, versions: { '1.0': { count: 1, share: 33.3, errors: 0, p50Ms: 4, p99Ms: 4 },
 *                                '2.0': { count: 0, share: 0, errors: 1, p50Ms: 9, p99Ms: 9 } },
 *       errors: [{ kind: 'HTTP 500', count: 1 }, { kind: 'ECONNREFUSED', count: 1 }], errorCount: 2, … }
 */
export function summarize(results: RequestSample[]): VerifyReport {
  const byVersion = new Map<string, RequestSample[]>()
  const errors = new Map<string, number>()
  for (const r of results) {
    const kind = r.error ?? ((r.status ?? 0) >= 500 ? `HTTP ${r.status}` : undefined)
    if (kind) errors.set(kind, (errors.get(kind) ?? 0) + 1)
    if (r.error) continue
    const v = r.version ?? 'unknown'
    byVersion.set(v, [...(byVersion.get(v) ?? []), r])
  }
  const n = results.length
  const pct = (c: number) => (n ? Math.round((c / n) * 1000) / 10 : 0)
  const versions: Record<string, VersionFigures> = {}
  for (const [v, xs] of [...byVersion].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const count = xs.filter((x) => (x.status ?? 0) < 500).length
    const lat = xs.map((x) => x.latencyMs)
    versions[v] = {
      count,
      share: pct(count),
      errors: xs.length - count,
      ...defined({ p50Ms: round(percentile(lat, 50)), p99Ms: round(percentile(lat, 99)) }),
    }
  }
  const answered = results.filter((r) => !r.error).map((r) => r.latencyMs)
  return {
    requests: n,
    versions,
    errors: [...errors].map(([kind, count]) => ({ kind, count })),
    errorCount: [...errors.values()].reduce((a, b) => a + b, 0),
    p50Ms: round(percentile(answered, 50)),
    p99Ms: round(percentile(answered, 99)),
  }
}

function round(v: number | undefined): number | undefined {
  return v === undefined ? undefined : Math.round(v * 10) / 10
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

/**
 * A text bar chart of the version shares, with each version's latency.
 *
 *   bars({ '1.0': { count: 75, share: 75, errors: 0, p50Ms: 3, p99Ms: 9 } }, 20)
 *   → ['1.0  ███████████████      75  75.0%  p50 3 ms  p99 9 ms']
 */
export function bars(versions: Record<string, VersionFigures>, width = 40): string[] {
  const rows = Object.entries(versions)
  const pad = Math.max(...rows.map(([v]) => v.length), 3)
  return rows.map(
    ([v, r]) =>
      `${v.padEnd(pad)}  ${'█'.repeat(Math.round((r.share / 100) * width)).padEnd(width)}  ${String(r.count).padStart(5)}  ${r.share.toFixed(1).padStart(5)}%  p50 ${r.p50Ms ?? '-'} ms  p99 ${r.p99Ms ?? '-'} ms${r.errors ? `  ${r.errors} × 5xx` : ''}`,
  )
}

/**
 * One line for one second of a long verify loop: the version shares of the answers that
 * arrived in it, so a person watching sees the split shift.
 *
 *   secondLine('12:00:03', [{ version: '1.0', status: 200, latencyMs: 2 }, { version: '2.0', status: 200, latencyMs: 3 }, { error: 'timeout', latencyMs: 2000 }])
 *   → '12:00:03  1.0 33.3%  2.0 33.3%  (3 req, 1 err)'
 */
export function secondLine(clock: string, results: RequestSample[]): string {
  const r = summarize(results)
  const shares = Object.entries(r.versions)
    .filter(([, v]) => v.count > 0)
    .map(([v, f]) => `${v} ${f.share.toFixed(1)}%`)
  return `${clock}  ${shares.join('  ') || '-'}  (${r.requests} req, ${r.errorCount} err)`
}
