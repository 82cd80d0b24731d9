import { describe, expect, it } from 'vitest'
import type { PodCheck, RequestSample } from '../core/analysis.js'
import { analysisSchema } from '../core/config.js'
import { type AnalysisHost, runAnalysis } from './analysis-loop.js'
import type { ReleaseState } from './state.js'

class Rolled extends Error {}

/**
 * The analysis loop in process, against a scripted host: the samples each interval sees and
 * the pods' answers go in, the writes and the rollback come out. No cluster, no sandbox.
 */
function scripted(o: {
  iterations: number
  threshold: number
  /** The requests through the Service in interval i. */
  samplesOf(i: number): RequestSample[]
  pods?: PodCheck[]
}) {
  const writes: { failedChecks?: number; ok?: boolean; failed?: boolean }[] = []
  const verdicts: boolean[] = []
  let interval = 0
  let current: RequestSample[] = []
  const state = { steps: [{ stable: 3, canary: 1 }], step: 0 } as unknown as ReleaseState
  const host: AnalysisHost = {
    analysis: analysisSchema.parse({ iterations: o.iterations, threshold: o.threshold, minSamples: 1 }),
    target: '2.0',
    intervalMs: 30,
    progressDeadlineMs: 60_000,
    state,
    samples: () => current,
    drainSamples: () => {
      const taken = current
      current = o.samplesOf(interval++)
      return taken
    },
    startLoad: async () => {},
    between: async () => {},
    checkServingPods: async () => o.pods ?? [{ pod: 'c', health: 200, version: '2.0' }],
    sawFailure: () => {},
    warm: async () => {},
    writeState: async (failed) => {
      writes.push({ failedChecks: state.failedChecks, ok: state.lastAnalysis?.ok, failed })
    },
    rollback: (reason) => {
      throw new Rolled(reason)
    },
    onInterval: (_it, v) => verdicts.push(v.ok),
  }
  return { host, writes, verdicts, state }
}

const ok = (n: number, version = '2.0'): RequestSample[] =>
  Array.from({ length: n }, () => ({ version, status: 200, latencyMs: 5 }))
const progress = { update() {} }

describe('runAnalysis (in process, scripted host)', () => {
  it('healthy intervals pass; the state is offered for writing after each but the last, as passing progress', async () => {
    const s = scripted({ iterations: 3, threshold: 2, samplesOf: () => ok(5) })
    await runAnalysis(s.host, progress)
    expect(s.verdicts).toEqual([true, true, true])
    expect(s.writes).toEqual([
      { failedChecks: undefined, ok: true, failed: false },
      { failedChecks: undefined, ok: true, failed: false },
    ])
  })

  it('a canary 5xx rolls back at once, naming it', async () => {
    const s = scripted({
      iterations: 3,
      threshold: 5,
      samplesOf: () => [...ok(3), { version: '2.0', status: 502, latencyMs: 5 }],
    })
    await expect(runAnalysis(s.host, progress)).rejects.toThrow(/canary answered HTTP 502/)
    // the interval the 5xx cut short is still reported (the release's timeline), as failed
    expect(s.verdicts).toEqual([false])
  })

  it('failed checks count to the threshold, each written at once', async () => {
    // a slow /version answer from the pod fails the check without being fatal
    const s = scripted({
      iterations: 4,
      threshold: 2,
      samplesOf: () => ok(5),
      pods: [{ pod: 'c', health: 503, version: '2.0' }],
    })
    await expect(runAnalysis(s.host, progress)).rejects.toBeInstanceOf(Rolled)
    expect(s.verdicts).toEqual([false, false])
    expect(s.writes.map((w) => w.failedChecks)).toEqual([1, 2])
    // a failed check is marked so: the engine writes it at once (progressWriteDue)
    expect(s.writes.map((w) => w.failed)).toEqual([true, true])
    expect(s.state.failedChecks).toBe(2)
  })
})
