import { describe, expect, it } from 'vitest'
import type { OnFailure } from '../core/fleet-plan.js'
import { type PoolOutcome, runWavePool } from './wave-pool.js'

/**
 * Clusters as small scripts: each "release" takes `ms` and ends ok or failed, or ends early
 * (aborted, counted as failed) once `abort` reached it. The log says what happened, in order.
 */
async function wave(
  script: Record<string, { ms: number; fails?: boolean }>,
  parallel: number,
  onFailure: OnFailure,
) {
  const log: string[] = []
  const aborts = new Map<string, () => void>()
  let live = 0
  let most = 0
  const r = await runWavePool({
    clusters: Object.keys(script),
    parallel,
    onFailure,
    run: (c) =>
      new Promise<PoolOutcome>((resolve) => {
        live++
        most = Math.max(most, live)
        log.push(`start ${c}`)
        const end = (how: PoolOutcome, what: string) => {
          clearTimeout(t)
          aborts.delete(c)
          live--
          log.push(`${what} ${c}`)
          resolve(how)
        }
        const t = setTimeout(
          () => end(script[c].fails ? 'failed' : 'ok', script[c].fails ? 'fail' : 'done'),
          script[c].ms,
        )
        aborts.set(c, () => end('failed', 'aborted'))
      }),
    abort: async (c) => {
      aborts.get(c)?.()
    },
  })
  return { log, most, started: r.started }
}

describe('runWavePool', () => {
  it('runs at most --parallel clusters at once, in order, and all of a healthy wave', async () => {
    const r = await wave({ a: { ms: 30 }, b: { ms: 10 }, c: { ms: 10 }, d: { ms: 10 } }, 2, 'abort-wave')
    expect(r.most).toBe(2)
    expect(r.started).toEqual(['a', 'b', 'c', 'd'])
    expect(r.log.filter((l) => l.startsWith('done'))).toHaveLength(4)
  })

  it('abort-wave: a rollback aborts the running neighbour; the clusters not started never start', async () => {
    const r = await wave(
      { a: { ms: 200 }, b: { ms: 10, fails: true }, c: { ms: 10 }, d: { ms: 10 } },
      2,
      'abort-wave',
    )
    expect(r.log).toEqual(['start a', 'start b', 'fail b', 'aborted a'])
    expect(r.started).toEqual(['a', 'b'])
  })

  it('finish-wave: the running neighbour finishes; the clusters not started still never start', async () => {
    const r = await wave({ a: { ms: 60 }, b: { ms: 10, fails: true }, c: { ms: 10 } }, 2, 'finish-wave')
    expect(r.log).toEqual(['start a', 'start b', 'fail b', 'done a'])
    expect(r.started).toEqual(['a', 'b'])
  })

  it('a wider --parallel starts the whole wave at once', async () => {
    const r = await wave({ a: { ms: 20 }, b: { ms: 20 }, c: { ms: 20 } }, 4, 'abort-wave')
    expect(r.log.slice(0, 3)).toEqual(['start a', 'start b', 'start c'])
    expect(r.most).toBe(3)
  })
})
