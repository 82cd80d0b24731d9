import { afterFailure, type OnFailure } from '../core/fleet-plan.js'

export type PoolOutcome = 'ok' | 'failed'

/**
 * Runs one wave: at most `parallel` clusters at once, in order. The first cluster that fails
 * stops the wave: clusters not started yet never start, and per `onFailure` the ones still
 * running are aborted (`abort(c)` is called for each: the release gets the abort request) or
 * left to finish. Resolves when every started cluster has ended; `stop()` answering true
 * (an abort asked from outside, SIGINT) also keeps the rest from starting.
 *
 *   parallel 2, a b c d, b fails while a runs → a aborted, c and d never start
 */
export async function runWavePool(o: {
  clusters: string[]
  parallel: number
  onFailure: OnFailure
  run(cluster: string): Promise<PoolOutcome>
  abort(cluster: string, failed: string): Promise<void>
  stop?(): boolean
}): Promise<{ started: string[] }> {
  const queue = [...o.clusters]
  const running = new Set<string>()
  const started: string[] = []
  let failed: string | undefined
  const worker = async () => {
    for (;;) {
      const c = failed !== undefined || o.stop?.() ? undefined : queue.shift()
      if (c === undefined) return
      running.add(c)
      started.push(c)
      const outcome = await o.run(c)
      running.delete(c)
      if (outcome === 'failed' && failed === undefined) {
        failed = c
        if (afterFailure(o.onFailure).abortRunning) await Promise.all([...running].map((r) => o.abort(r, c)))
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(o.parallel, o.clusters.length) }, worker))
  return { started }
}
