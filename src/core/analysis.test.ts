import { describe, expect, it } from 'vitest'
import { judgeInterval, percentile, type RequestSample } from './analysis.js'

const thresholds = { successRate: 99, maxLatencyMs: 500, minSamples: 5 }
const req = (version: string, status = 200, latencyMs = 5): RequestSample => ({ version, status, latencyMs })
const many = (n: number, f: (i: number) => RequestSample) => Array.from({ length: n }, (_, i) => f(i))
const healthyPod = { pod: 'c1', health: 200, version: '2.0' }

describe('percentile', () => {
  it.each([
    [[10, 20, 30, 40], 50, 20],
    [[10, 20, 30, 40], 99, 40],
    [[5], 99, 5],
    [[], 50, undefined],
  ])('%j p%i = %s', (v, p, out) => expect(percentile(v, p)).toBe(out))
})

describe('judgeInterval', () => {
  it.each([
    ['healthy canary', many(20, (i) => req(i % 4 ? '1.0' : '2.0')), [healthyPod], true, undefined],
    [
      'a canary 5xx rolls back at once',
      [...many(10, () => req('2.0')), req('2.0', 500)],
      [healthyPod],
      false,
      'canary answered HTTP 500',
    ],
    [
      'FAIL_RATE=0.5 (every second canary request a 500) is the success-rate gate, at once',
      many(4, (i) => req('2.0', i % 2 ? 500 : 200)),
      [healthyPod],
      false,
      'canary answered HTTP 500 (2 of 4 requests, success rate 50.0% < 99%)',
    ],
    ['slow canary', many(10, () => req('2.0', 200, 800)), [healthyPod], false, 'p99 latency 800ms > 500ms'],
    ['too few samples to judge latency', many(3, () => req('2.0', 200, 800)), [healthyPod], true, undefined],
    [
      'wrong /version',
      many(10, () => req('2.0')),
      [{ pod: 'c1', health: 200, version: '1.9' }],
      false,
      '/version is "1.9"',
    ],
    [
      'unhealthy pod',
      many(10, () => req('2.0')),
      [{ pod: 'c1', health: 503, version: '2.0' }],
      false,
      '/health answered 503',
    ],
    [
      'errors before the canary answers do not count',
      many(10, () => ({ error: 'ECONNREFUSED', latencyMs: 1 })),
      [healthyPod],
      true,
      undefined,
    ],
    [
      'a cluster-wide problem does not blame the canary',
      [
        ...many(10, () => req('1.0', 503)),
        ...many(10, (i) => ({
          version: '2.0',
          latencyMs: 2,
          ...(i < 5 ? { error: 'ECONNRESET' } : { status: 200 }),
        })),
      ],
      [healthyPod],
      true,
      undefined,
    ],
  ])('%s', (_name, samples, pods, ok, reason) => {
    const v = judgeInterval({ target: '2.0', samples, pods, thresholds })
    expect(v.ok).toBe(ok)
    if (reason) expect(v.reason).toContain(reason)
  })

  it('a canary with a low success rate (not 5xx) fails the check without being fatal', () => {
    const samples = many(10, (i) =>
      i < 3 ? { version: '2.0', error: 'ECONNRESET', latencyMs: 1 } : req('2.0'),
    )
    const v = judgeInterval({ target: '2.0', samples, pods: [healthyPod], thresholds })
    expect(v).toMatchObject({ ok: false, fatal: false })
    expect(v.reason).toContain('success rate 70.0% < 99%')
  })
})
