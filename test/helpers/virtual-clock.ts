import type { Clock } from '../../src/ports.js'

interface Timer {
  id: number
  due: number
  fn: () => void
  every?: number
}

/** Lets every promise chain that can move on do so: a few turns of the event loop. */
async function settle(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

/**
 * A Clock in virtual time for in-process engine tests. Nothing runs by itself: `run(p)` lets
 * the pending work settle, then jumps to the next timer due and fires it, until `p` settles,
 * so a release that waits for minutes in real life runs in milliseconds, in a fixed order.
 */
export class VirtualClock implements Clock {
  private t: number
  private seq = 0
  private timers: Timer[] = []

  constructor(start = Date.parse('2026-12-05T00:00:00Z')) {
    this.t = start
  }

  now(): number {
    return this.t
  }

  setTimeout(fn: () => void, ms: number): () => void {
    const id = ++this.seq
    this.timers.push({ id, due: this.t + Math.max(0, ms), fn })
    return () => this.cancel(id)
  }

  setInterval(fn: () => void, ms: number): () => void {
    const id = ++this.seq
    const every = Math.max(1, ms)
    this.timers.push({ id, due: this.t + every, fn, every })
    return () => this.cancel(id)
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve()
      const wake = () => {
        cancel()
        signal?.removeEventListener('abort', wake)
        resolve()
      }
      const cancel = this.setTimeout(wake, ms)
      signal?.addEventListener('abort', wake, { once: true })
    })
  }

  private cancel(id: number): void {
    this.timers = this.timers.filter((t) => t.id !== id)
  }

  /**
   * Runs virtual time until `p` settles (at most `limitMs` of it) and returns its outcome.
   * Throws when `p` waits on something no timer will ever bring (a deadlock of the script).
   */
  async run<T>(p: Promise<T>, limitMs = 3_600_000): Promise<T> {
    let done = false
    p.then(
      () => {
        done = true
      },
      () => {
        done = true
      },
    )
    const end = this.t + limitMs
    for (;;) {
      await settle()
      if (done) return p
      const next = this.timers.reduce<Timer | undefined>((a, b) => (!a || b.due < a.due ? b : a), undefined)
      if (!next) throw new Error('virtual clock: the run waits on nothing scheduled')
      if (next.due > end) throw new Error(`virtual clock: not settled after ${limitMs} ms of virtual time`)
      this.t = Math.max(this.t, next.due)
      if (next.every) next.due = this.t + next.every
      else this.cancel(next.id)
      next.fn()
    }
  }
}
