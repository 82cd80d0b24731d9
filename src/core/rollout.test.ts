import { describe, expect, it } from 'vitest'
import { type RolloutView, stableReached } from './rollout.js'

/** A Deployment at `generation` whose controller last saw `observed`, with its pod counts. */
const d = (
  generation: number,
  observed: number,
  [replicas, updatedReplicas, readyReplicas, availableReplicas]: (number | undefined)[],
): RolloutView => ({
  generation,
  status: { observedGeneration: observed, replicas, updatedReplicas, readyReplicas, availableReplicas },
})

describe('stableReached', () => {
  it.each([
    // the controller has not seen the latest spec yet: its counts are of the one before
    [d(3, 2, [4, 4, 4, 4]), 4, true, false],
    [d(3, 3, [undefined, undefined, 1, undefined]), 1, false, true],
    [d(3, 3, [undefined, undefined, 0, undefined]), 1, false, false],
    // surge: 4 new pods Ready but the old one still there
    [d(3, 3, [5, 4, 5, 5]), 4, true, false],
    // new pods started but not all Ready yet
    [d(3, 3, [4, 4, 3, 3]), 4, true, false],
    [d(3, 3, [4, 4, 4, 4]), 4, true, true],
    // Ready but not yet available (minReadySeconds)
    [d(3, 3, [4, 4, 4, 2]), 4, true, false],
    [{ generation: 1, status: undefined }, 1, false, false],
  ] as const)('%j, n=%d, all=%s → %s', (view, n, all, want) => expect(stableReached(view, n, all)).toBe(want))
})
