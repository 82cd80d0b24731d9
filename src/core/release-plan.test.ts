import { describe, expect, it } from 'vitest'
import { parseSteps, planSteps, prewarmDelayMs } from './release-plan.js'
import { splitReplicas } from './replica-split.js'

describe('splitReplicas (Argo Rollouts rounding)', () => {
  it.each([
    // total, weight, stable, canary
    [4, 25, 3, 1],
    [4, 50, 2, 2],
    [4, 75, 1, 3],
    [4, 10, 3, 1],
    [4, 99, 1, 3],
    [4, 0, 4, 0],
    [4, 100, 0, 4],
    [10, 41, 6, 4],
    [10, 45, 5, 5],
    [5, 50, 2, 3],
    [3, 50, 1, 2],
    [1, 50, 0, 1],
    [1, 40, 1, 0],
    [2, 1, 1, 1],
  ])('splitReplicas(%i, %i) = %i:%i', (total, weight, stable, canary) => {
    expect(splitReplicas(total, weight)).toEqual({ stable, canary })
  })
})

describe('planSteps', () => {
  it('gives the seed plan 3:1, 2:2, 1:3 for 4 pods', () => {
    expect(planSteps(4, [25, 50, 75]).map((s) => `${s.stable}:${s.canary}`)).toEqual(['3:1', '2:2', '1:3'])
  })
  it('states the real ratio, never a pretend weight', () => {
    expect(planSteps(4, [10, 20, 30])).toEqual([{ weight: 10, stable: 3, canary: 1, actualPercent: 25 }])
    expect(planSteps(3, [25, 50])).toEqual([
      { weight: 25, stable: 2, canary: 1, actualPercent: 33.3 },
      { weight: 50, stable: 1, canary: 2, actualPercent: 66.7 },
    ])
  })
  it.each([
    ['25,50,75', [25, 50, 75]],
    ['10', [10]],
  ])('parseSteps(%s)', (text, steps) => expect(parseSteps(text)).toEqual({ ok: true, steps }))
  it.each(['50,25', '0,50', '25,,50', 'a'])('parseSteps(%s) is refused', (text) =>
    expect(parseSteps(text).ok).toBe(false),
  )
})

describe('prewarmDelayMs', () => {
  it.each([
    // analysis, progress deadline, delay
    [30_000, 60_000, 15_000],
    [4_000, 60_000, 0],
    [15_000, 60_000, 0],
    [16_000, 60_000, 1_000],
    [30_000, 20_000, 20_000],
    [0, 60_000, 0],
  ])('analysis %i ms, deadline %i ms → start the next pods after %i ms', (analysis, deadline, delay) => {
    expect(prewarmDelayMs(analysis, deadline)).toBe(delay)
  })
})
