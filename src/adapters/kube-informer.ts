import { nextWatchStep, type WatchEnd } from '../core/watch-resume.js'
import type { InformHandlers } from '../ports.js'

interface Listed<T> {
  items: T[]
  metadata?: { resourceVersion?: string }
}

interface WatchLine<T> {
  type?: string
  object?: T & { metadata?: { resourceVersion?: string }; code?: number }
}

/** What the informer needs of the adapter: a JSON GET, and a line stream of a GET. */
export interface InformerTransport {
  list<T>(path: string): Promise<Listed<T>>
  /**
   * Opens a streaming GET; `onLine` gets each line, `onEnd` once: with the HTTP status when
   * it was not 200, 200 on a normal end, 0 on a connection error. Returns abort().
   */
  stream(path: string, onLine: (line: string) => void, onEnd: (status: number) => void): () => void
}

/**
 * List-then-watch of one collection path (`/api/v1/namespaces/x/pods`) with a selector:
 * client-go's reflector, small. The watch resumes from the last resourceVersion it saw
 * (bookmarks included), relists on 410 Gone, and backs off on failures (nextWatchStep).
 */
export function informer<T extends { metadata?: { resourceVersion?: string } }>(
  t: InformerTransport,
  path: string,
  selector: { label?: string; field?: string },
  h: InformHandlers<T>,
): () => void {
  let stopped = false
  let abort: (() => void) | undefined
  let timer: NodeJS.Timeout | undefined
  let rv: string | undefined
  let failures = 0
  const q = (extra: Record<string, string>) => {
    const p = new URLSearchParams(extra)
    if (selector.label) p.set('labelSelector', selector.label)
    if (selector.field) p.set('fieldSelector', selector.field)
    return `${path}?${p.toString()}`
  }
  const next = (end: WatchEnd) => {
    if (stopped) return
    if (end === 'failed') failures++
    const step = nextWatchStep({ resourceVersion: rv, end, failures })
    if (step.action === 'list') rv = undefined
    timer = setTimeout(() => (step.action === 'list' ? void relist() : watch(step.from)), step.delayMs)
    timer.unref?.()
  }
  const relist = async () => {
    try {
      const l = await t.list<T>(q({}))
      if (stopped) return
      rv = l.metadata?.resourceVersion
      h.onList(l.items ?? [])
      watch(rv ?? '0')
    } catch {
      next('failed')
    }
  }
  const watch = (from: string) => {
    if (stopped) return
    let gone = false
    let opened = false
    const since = Date.now()
    abort = t.stream(
      q({
        watch: '1',
        resourceVersion: from,
        allowWatchBookmarks: 'true',
        timeoutSeconds: String(240 + Math.floor(Math.random() * 120)),
      }),
      (line) => {
        if (!opened) {
          opened = true
          failures = 0
        }
        let ev: WatchLine<T>
        try {
          ev = JSON.parse(line) as WatchLine<T>
        } catch {
          return
        }
        const o = ev.object
        if (ev.type === 'ERROR') {
          if (o?.code === 410) gone = true
          return
        }
        if (o?.metadata?.resourceVersion) rv = o.metadata.resourceVersion
        if (ev.type === 'BOOKMARK' || !o) return
        if (ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED') h.onEvent(ev.type, o)
      },
      (status) => {
        abort = undefined
        if (status === 410) return next('gone')
        if (gone) return next('gone')
        // a watch the server ends at once, with nothing sent, is not a normal close: back off
        next(status === 200 && (opened || Date.now() - since > 1000) ? 'closed' : 'failed')
      },
    )
  }
  void relist()
  return () => {
    stopped = true
    if (timer) clearTimeout(timer)
    abort?.()
  }
}
