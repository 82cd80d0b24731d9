import { request } from 'node:http'
import type { RequestSample } from '../core/analysis.js'
import type { LoadGenerator } from '../ports.js'

export interface RequestResult extends RequestSample {
  at: number
}

/**
 * One GET on a fresh TCP connection (no keep-alive: a kept connection would stay on one pod,
 * as kube-proxy pins connections, and hide the split). The version comes from `X-App-Version`.
 */
export function probeOnce(url: string, timeoutMs = 2000): Promise<RequestResult> {
  const start = performance.now()
  const at = Date.now()
  return new Promise((resolve) => {
    let settled = false
    const done = (r: Omit<RequestResult, 'latencyMs' | 'at'>) => {
      if (settled) return
      settled = true
      resolve({ ...r, latencyMs: performance.now() - start, at })
    }
    const req = request(
      url,
      { agent: false, headers: { connection: 'close' }, timeout: timeoutMs },
      (res) => {
        const version = res.headers['x-app-version']
        res.resume()
        res.on('end', () =>
          done({ status: res.statusCode, version: typeof version === 'string' ? version : undefined }),
        )
        res.on('error', (e: NodeJS.ErrnoException) => done({ error: e.code ?? 'ERROR' }))
      },
    )
    req.on('timeout', () => {
      req.destroy()
      done({ error: 'timeout' })
    })
    req.on('error', (e: NodeJS.ErrnoException) => done({ error: e.code ?? e.message }))
    req.end()
  })
}

/**
 * Sends requests at `rate` per second (each on a fresh connection, at most `concurrency` in
 * flight) until `stop()`; every result goes to `onResult`.
 */
export function startLoad(o: {
  url: string
  rate: number
  concurrency?: number
  timeoutMs?: number
  onResult: (r: RequestResult) => void
}): { stop(): Promise<void> } {
  const inflight = new Set<Promise<void>>()
  const max = o.concurrency ?? 64
  const every = 1000 / Math.max(0.1, o.rate)
  const started = performance.now()
  let sent = 0
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  const tick = () => {
    if (stopped) return
    const due = Math.floor((performance.now() - started) / every) + 1
    while (sent < due && inflight.size < max) {
      sent++
      const p = probeOnce(o.url, o.timeoutMs).then((r) => {
        inflight.delete(p)
        if (!stopped) o.onResult(r)
      })
      inflight.add(p)
    }
    timer = setTimeout(tick, Math.max(1, every / 2))
  }
  tick()
  return {
    async stop() {
      stopped = true
      clearTimeout(timer)
      await Promise.all([...inflight])
    },
  }
}

/** Sends exactly `requests` requests at `rate` per second and returns every result. */
export async function runRequests(o: {
  url: string
  requests: number
  rate: number
  concurrency?: number
  timeoutMs?: number
  /** Sees each result as it arrives (a long loop prints a line per second). */
  onResult?: (r: RequestResult) => void
}): Promise<RequestResult[]> {
  const results: RequestResult[] = []
  await new Promise<void>((resolve) => {
    const load = startLoad({
      ...o,
      onResult: (r) => {
        if (results.length >= o.requests) return
        results.push(r)
        o.onResult?.(r)
        if (results.length === o.requests) void load.stop().then(resolve)
      },
    })
  })
  return results
}

/** The production LoadGenerator: real GETs on fresh connections (startLoad). */
export const httpLoad: LoadGenerator = { start: (o) => startLoad(o) }
