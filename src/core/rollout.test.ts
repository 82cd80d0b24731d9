import { describe, expect, it } from 'vitest'
import { type RolloutView, stableReached } from './rollout.js'

const d = (generation: number, status: RolloutView['status']): RolloutView => ({ generation, status })

describe('stableReached', () => {
  it.each([
    // the controller has not seen the latest spec yet: its counts are of the one before
    [
      d(3, {
        observedGeneration: 2,
        replicas: 4,
        updatedReplicas: 4,
        readyReplicas: 4,
        availableReplicas: 4,
      }),
      4,
      true,
      false,
    ],
    [d(3, { observedGeneration: 3, readyReplicas: 1 }), 1, false, true],
    [d(3, { observedGeneration: 3, readyReplicas: 0 }), 1, false, false],
    // surge: 4 new pods Ready but the old one still there
    [
      d(3, {
        observedGeneration: 3,
        replicas: 5,
        updatedReplicas: 4,
        readyReplicas: 5,
        availableReplicas: 5,
      }),
      4,
      true,
      false,
    ],
    // new pods started but not all Ready yet
    [
      d(3, {
        observedGeneration: 3,
        replicas: 4,
        updatedReplicas: 4,
        readyReplicas: 3,
        availableReplicas: 3,
      }),
      4,
      true,
      false,
    ],
    [
      d(3, {
        observedGeneration: 3,
        replicas: 4,
        updatedReplicas: 4,
        readyReplicas: 4,
        availableReplicas: 4,
      }),
      4,
      true,
      true,
    ],
    // Ready but not yet available (minReadySeconds)
    [
      d(3, {
        observedGeneration: 3,
        replicas: 4,
        updatedReplicas: 4,
        readyReplicas: 4,
        availableReplicas: 2,
      }),
      4,
      true,
      false,
    ],
    [d(1, undefined), 1, false, false],
  ] as const)('%j, n=%d, all=%s → %s', (view, n, all, want) => expect(stableReached(view, n, all)).toBe(want))
})
