import { describe, expect, it } from 'vitest'
import { afterInterval, driftOf, firstCanary5xx, gateDecision, startDecision } from './release-decisions.js'

describe('startDecision', () => {
  it.each([
    // prior, version, decision
    [undefined, '2.0', { action: 'start' }],
    [{ version: '2.0', phase: 'Succeeded' }, '2.0', { action: 'noop' }],
    [{ version: '1.0', phase: 'Succeeded' }, '2.0', { action: 'start' }],
    [{ version: '2.0', phase: 'RolledBack' }, '2.0', { action: 'start' }],
    [{ version: '2.0', phase: 'Aborted' }, '2.0', { action: 'start' }],
    [{ version: '2.0', phase: 'Progressing' }, '2.0', { action: 'resume' }],
    [{ version: '2.0', phase: 'Paused' }, '2.0', { action: 'resume' }],
    [{ version: '2.0', phase: 'Promoting' }, '2.0', { action: 'resume' }],
    [{ version: '2.0', phase: 'Interrupted' }, '2.0', { action: 'resume' }],
    [
      { version: '2.0', phase: 'Progressing' },
      '3.0',
      { action: 'refuse', running: '2.0', phase: 'Progressing' },
    ],
    [
      { version: '2.0', phase: 'RollingBack' },
      '3.0',
      { action: 'refuse', running: '2.0', phase: 'RollingBack' },
    ],
  ] as const)('%j, release %s → %j', (prior, version, decision) => {
    expect(startDecision(prior, version)).toEqual(decision)
  })
})

describe('afterInterval (failed-check threshold)', () => {
  it.each([
    // ok, fatal, failedChecks, threshold, outcome
    [true, false, 0, 2, 'continue'],
    [true, false, 5, 2, 'continue'],
    [false, false, 1, 2, 'continue'],
    [false, false, 2, 2, 'rollback'],
    [false, false, 3, 2, 'rollback'],
    [false, true, 1, 5, 'rollback'],
    [false, false, 1, 1, 'rollback'],
  ] as const)('ok %s fatal %s, %i failed of %i → %s', (ok, fatal, failedChecks, threshold, outcome) => {
    expect(afterInterval({ ok, fatal, failedChecks, threshold })).toBe(outcome)
  })
})

describe('gateDecision (pre-traffic gate retry rule)', () => {
  it.each([
    // probe, attempt, decision
    [{ health: 200, version: '2.0' }, 1, { action: 'pass' }],
    [{ health: 200, version: '1.0' }, 1, { action: 'fail', reason: '/version is "1.0", expected "2.0"' }],
    [{ health: 503, version: '1.0' }, 1, { action: 'fail', reason: '/version is "1.0", expected "2.0"' }],
    [{ health: 503, version: '2.0' }, 1, { action: 'retry' }],
    [{ health: 503, version: '2.0' }, 2, { action: 'retry' }],
    [{ health: 503, version: '2.0' }, 3, { action: 'fail', reason: '/health answered 503' }],
    [{ health: 200, error: '/version answered 500' }, 1, { action: 'retry' }],
    [{ health: 200, error: '/version answered 500' }, 3, { action: 'fail', reason: '/version answered 500' }],
  ] as const)('%j at attempt %i → %j', (probe, attempt, decision) => {
    expect(gateDecision(probe, attempt, '2.0')).toEqual(decision)
  })
})

describe('driftOf', () => {
  const o = { app: 'kubeapp', step: 2 }
  it.each([
    [{ stable: 2, canary: 2 }, { stable: 2, canary: 2 }, undefined],
    [
      { stable: 2, canary: 2 },
      { stable: 2, canary: 3 },
      'kubeapp-canary scaled to 3 outside edgecanary (step 2 expects 2)',
    ],
    [
      { stable: 2, canary: 2 },
      { stable: 4, canary: 2 },
      'kubeapp scaled to 4 outside edgecanary (step 2 expects 2)',
    ],
    [
      { stable: 2, canary: 2 },
      { stable: 1, canary: 0 },
      'kubeapp-canary scaled to 0 outside edgecanary (step 2 expects 2); kubeapp scaled to 1 outside edgecanary (step 2 expects 2)',
    ],
  ])('planned %j, actual %j → %s', (planned, actual, drift) => {
    expect(driftOf(planned, actual, o)).toBe(drift)
  })
})

describe('firstCanary5xx (the 5xx rule counts from the first)', () => {
  it.each([
    [[], undefined],
    [[{ version: '2.0', status: 200, at: 1 }], undefined],
    [[{ version: '1.0', status: 500, at: 1 }], undefined],
    [
      [
        { version: '2.0', status: 503, at: 9 },
        { version: '2.0', status: 500, at: 4 },
        { version: '1.0', status: 500, at: 1 },
      ],
      4,
    ],
  ])('%j → %s', (samples, at) => {
    expect(firstCanary5xx(samples, '2.0')).toBe(at)
  })
})
