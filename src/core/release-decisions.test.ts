import { describe, expect, it } from 'vitest'
import {
  afterInterval,
  driftOf,
  failureStart,
  firstCanary5xx,
  gateDecision,
  progressDeadlineReason,
  progressWriteDue,
  promotionMismatch,
  readinessDeadlineReason,
  requestAction,
  resumesInPromotion,
  startDecision,
  stepSummary,
  warmAhead,
} from './release-decisions.js'

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

describe('resumesInPromotion', () => {
  it.each([
    [true, 'Promoting', true],
    [true, 'Finalising', true],
    [true, 'Progressing', false],
    [true, 'Paused', false],
    [true, 'Interrupted', false],
    [false, 'Promoting', false],
  ] as const)('resumed %s, phase %s → %s', (resumed, phase, out) => {
    expect(resumesInPromotion(resumed, phase)).toBe(out)
  })
})

describe('requestAction', () => {
  it.each([
    ['abort', 'abort'],
    ['promote', 'promote'],
    ['promote-step', 'promote-step'],
    [undefined, undefined],
    ['', undefined],
    ['rollback', undefined],
  ] as const)('%s → %s', (annotation, out) => {
    expect(requestAction(annotation)).toBe(out)
  })
})

describe('warmAhead', () => {
  it.each([
    [false, 0, { canary: 1 }, { canary: 2 }, { replicas: 2, step: 2 }],
    [false, 1, { canary: 2 }, { canary: 4 }, { replicas: 4, step: 3 }],
    [true, 0, { canary: 1 }, { canary: 2 }, undefined],
    [false, 0, { canary: 2 }, { canary: 2 }, undefined],
    [false, 0, { canary: 2 }, { canary: 1 }, undefined],
    [false, 2, { canary: 4 }, undefined, undefined],
  ] as const)('pause %s, step %i, %j → %j: %j', (pause, i, cur, next, out) => {
    expect(warmAhead(pause, i, cur, next)).toEqual(out)
  })
})

describe('stepSummary', () => {
  it.each([
    [{ stable: 3, canary: 1 }, 0, 0, 2, '3:1 healthy'],
    [{ stable: 3, canary: 1 }, 0, 1, 2, '3:1 healthy'],
    [{ stable: 2, canary: 2 }, 1, 2, 5, '2:2 — 1 failed check(s), 2 of threshold 5 so far'],
  ] as const)('%j, %i here, %i total, threshold %i → %s', (s, here, total, threshold, out) => {
    expect(stepSummary(s, here, total, threshold)).toBe(out)
  })
})

describe('failureStart', () => {
  const t1 = '2026-01-01T00:00:01Z'
  const t2 = '2026-01-01T00:00:02Z'
  it.each([
    [
      [{ lastState: { terminated: { finishedAt: t2 } } }, { state: { terminated: { finishedAt: t1 } } }],
      Date.parse(t1),
    ],
    [
      [{ lastState: { terminated: { finishedAt: t2 } }, state: { terminated: { finishedAt: t1 } } }],
      Date.parse(t2),
    ],
    [[{}], 9],
    [[], 9],
    [[{ state: { terminated: { finishedAt: 'not a time' } } }], 9],
  ])('%j → %i', (statuses, out) => {
    expect(failureStart(statuses, 9)).toBe(out)
  })
})

describe('readinessDeadlineReason', () => {
  it.each([
    [
      [{ name: 'c-1', waiting: 'CrashLoopBackOff' }],
      0,
      1,
      30_000,
      'readiness deadline: 0/1 canary pod(s) Ready after 30s (c-1: CrashLoopBackOff); /health never answered 200',
    ],
    [
      [{ name: 'c-1', phase: 'Running' }, { name: 'c-2' }],
      1,
      2,
      2_500,
      'readiness deadline: 1/2 canary pod(s) Ready after 2.5s (c-1: Running, c-2: Pending); /health never answered 200',
    ],
  ] as const)('%j → %s', (pods, ready, n, ms, out) => {
    expect(readinessDeadlineReason([...pods], ready, n, ms)).toBe(out)
  })
})

describe('progressDeadlineReason', () => {
  const exceeded = { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }
  it.each([
    [60, [{ ...exceeded, message: 'm' }], 'progress deadline: c made no progress in 60s (m)'],
    [undefined, [exceeded], 'progress deadline: c made no progress in 60s (ProgressDeadlineExceeded)'],
    [30, [{ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }], undefined],
    [30, [{ type: 'Available', status: 'False', reason: 'ProgressDeadlineExceeded' }], undefined],
    [30, undefined, undefined],
  ])('%s s, %j → %s', (secs, conditions, out) => {
    expect(progressDeadlineReason('c', secs, conditions)).toBe(out)
  })
})

describe('promotionMismatch', () => {
  it.each([
    [[{ pod: 'a', version: '2.0' }], undefined],
    [[], undefined],
    [
      [
        { pod: 'a', version: '2.0' },
        { pod: 'b', version: 'HTTP 500' },
      ],
      'after promotion b answers /version "HTTP 500"',
    ],
    [[{ pod: 'a', version: '1.0' }], 'after promotion a answers /version "1.0"'],
  ])('%j → %s', (answers, out) => {
    expect(promotionMismatch(answers, '2.0')).toBe(out)
  })
})

describe('progressWriteDue', () => {
  it.each([
    // failed, ms since the last state write, write now
    [true, 0, true],
    [true, 500, true],
    [false, 0, false],
    [false, 2_000, false],
    [false, 9_999, false],
    [false, 10_000, true],
    [false, 30_000, true],
  ] as const)('failed %s, %i ms since → %s', (failed, since, out) => {
    expect(progressWriteDue(failed, since)).toBe(out)
  })
})
