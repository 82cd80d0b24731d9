import { describe, expect, it } from 'vitest'
import {
  kubeletObservation,
  type ProbeObservation,
  readinessVerdict,
  warmupAllowanceMs,
} from './readiness-evidence.js'

const h = (at: number, status?: number, extra: Partial<ProbeObservation> = {}): ProbeObservation => ({
  at,
  source: 'edgecanary',
  endpoint: '/health',
  status,
  ...extra,
})
const v = (at: number, version: string, status = 200): ProbeObservation => ({
  at,
  source: 'edgecanary',
  endpoint: '/version',
  status,
  version: status === 200 ? version : undefined,
})

describe('readinessVerdict', () => {
  const base = { pod: 'c', target: '2.0', startedAt: 10_000, warmupMs: 3000, minFailures: 3 }
  it.each([
    // name, now, observations, expected
    ['nothing seen yet', 14_000, [], undefined],
    [
      '503s inside the warm-up allowance',
      12_500,
      [h(10_200, 503), h(11_200, 503), h(12_200, 503)],
      undefined,
    ],
    [
      'persistent 503 past the warm-up',
      14_000,
      [h(10_200, 503), h(11_200, 503), h(12_200, 503), h(13_200, 503)],
      'canary /health answered 503 on 4 probes over 3.0 s (pod c)',
    ],
    [
      'a success ends the run',
      14_000,
      [h(10_200, 503), h(11_200, 503), h(12_200, 200), h(13_200, 503)],
      undefined,
    ],
    [
      'the kubelet and edgecanary together',
      13_500,
      [h(10_000, 500, { source: 'kubelet' }), h(11_000, 500), h(12_000, 500, { source: 'kubelet' })],
      'canary /health answered 500 on 3 probes over 2.0 s (pod c)',
    ],
    [
      'connection refused',
      13_100,
      [
        h(10_100, undefined, { refused: true }),
        h(11_100, undefined, { refused: true }),
        h(12_100, undefined, { refused: true }),
      ],
      'canary /health refused the connection on 3 probes over 2.0 s (pod c)',
    ],
    [
      'no answer',
      13_100,
      [h(10_100), h(11_100), h(12_100)],
      'canary /health did not answer on 3 probes over 2.0 s (pod c)',
    ],
    [
      'answers before the container started do not count',
      13_500,
      [h(8000, 503), h(9000, 503), h(12_000, 503)],
      undefined,
    ],
    [
      'a wrong /version is decided at once, even in the warm-up',
      10_300,
      [v(10_200, '1.0')],
      'canary /version is "1.0", expected "2.0" (pod c)',
    ],
    ['the right /version is fine', 14_000, [v(10_200, '2.0'), v(11_200, '2.0'), v(12_200, '2.0')], undefined],
    [
      '/version failing persistently',
      14_000,
      [v(10_200, '', 404), v(11_200, '', 404), v(12_200, '', 404)],
      'canary /version answered 404 on 3 probes over 2.0 s (pod c)',
    ],
  ] as const)('%s', (_name, now, observations, expected) => {
    expect(readinessVerdict({ ...base, now, observations: [...observations] })).toBe(expected)
  })
})

describe('kubeletObservation', () => {
  it.each([
    ['Readiness probe failed: HTTP probe failed with statuscode: 503', { status: 503 }],
    [
      'Readiness probe failed: Get "http://10.0.0.5:8080/health": dial tcp 10.0.0.5:8080: connect: connection refused',
      { refused: true },
    ],
    ['Readiness probe failed: Get "http://x/health": context deadline exceeded', { endpoint: '/health' }],
    ['Liveness probe failed: HTTP probe failed with statuscode: 500', undefined],
  ] as const)('%s', (message, expected) => {
    const o = kubeletObservation(message, 7, '/health')
    if (expected === undefined) expect(o).toBeUndefined()
    else expect(o).toMatchObject({ at: 7, source: 'kubelet', endpoint: '/health', ...expected })
  })
})

describe('warmupAllowanceMs', () => {
  it.each([
    // periodSeconds, deadline, expected
    [1, 60_000, 3000],
    [undefined, 60_000, 30_000],
    [10, 20_000, 20_000],
    [0.1, 60_000, 1000],
  ])('period %s s, deadline %i → %i', (periodSeconds, deadline, expected) => {
    expect(warmupAllowanceMs(periodSeconds === undefined ? undefined : { periodSeconds }, deadline)).toBe(
      expected,
    )
  })
})
