import type { Clock } from '../ports.js'

/** The production Clock: Date.now and Node's timers (unref'd, so a pending timer never holds the process). */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve()
      const wake = () => {
        clearTimeout(t)
        signal?.removeEventListener('abort', wake)
        resolve()
      }
      const t = setTimeout(wake, ms)
      signal?.addEventListener('abort', wake, { once: true })
    }),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms)
    t.unref?.()
    return () => clearTimeout(t)
  },
  setInterval: (fn, ms) => {
    const t = setInterval(fn, ms)
    t.unref?.()
    return () => clearInterval(t)
  },
}
