/** How a watch connection ended. */
export type WatchEnd =
  /** the server closed it normally (its timeout) or it has not started yet */
  | 'closed'
  /** 410 Gone / an ERROR event with code 410: the resourceVersion is too old to resume from */
  | 'gone'
  /** a connection error, a 5xx, a 429: try again later */
  | 'failed'

/** What an informer does next: list (and watch from the list's version), or watch from `from`. */
export type WatchStep =
  | { action: 'list'; delayMs: number }
  | { action: 'watch'; from: string; delayMs: number }

/**
 * The next step of a list-then-watch loop, as client-go's reflector does it: resume from the
 * last resourceVersion seen after a normal close; relist after 410 Gone (the version left the
 * server's history) or when no version is known; after failures back off exponentially
 * (100 ms doubling, at most 5 s), and relist once several resumes in a row failed (an API
 * server that restarted may have lost the history).
 *
 *   nextWatchStep({ resourceVersion: '42', end: 'closed', failures: 0 }) → { action: 'watch', from: '42', delayMs: 0 }
 *   nextWatchStep({ resourceVersion: '42', end: 'gone', failures: 0 })   → { action: 'list', delayMs: 0 }
 *   nextWatchStep({ resourceVersion: '42', end: 'failed', failures: 3 }) → { action: 'watch', from: '42', delayMs: 800 }
 */
export function nextWatchStep(o: { resourceVersion?: string; end: WatchEnd; failures: number }): WatchStep {
  const delayMs = o.end === 'failed' ? Math.min(5000, 100 * 2 ** Math.max(0, o.failures)) : 0
  if (o.end === 'gone' || !o.resourceVersion || o.failures >= 5) return { action: 'list', delayMs }
  return { action: 'watch', from: o.resourceVersion, delayMs }
}
