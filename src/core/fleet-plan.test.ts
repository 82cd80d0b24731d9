import { describe, expect, it } from 'vitest'
import { validateConfig } from './config.js'
import {
  afterFailure,
  type ClusterOutcome,
  clusterOutcome,
  DEFAULT_WAVES,
  fleetPhase,
  nextFleetStep,
  parseContexts,
  parseOnFailure,
  parseParallel,
  parseWaves,
  planWaves,
} from './fleet-plan.js'

const names = (n: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(97 + i))
const waves = (n: number, text: string) => {
  const m = parseWaves(text)
  if (!m.ok) throw new Error(m.problem)
  const w = planWaves(names(n), m.value)
  if (!w.ok) throw new Error(w.problem)
  return w.value.map((x) => x.join('')).join(' | ')
}

describe('planWaves', () => {
  it.each([
    // clusters, --waves, waves
    [8, '1,25%,100%', 'a | b | cdefgh'],
    [8, '1,50%,100%', 'a | bcd | efgh'],
    [3, '1,25%,100%', 'a | bc'], // 25% of 3 rounds up to 1: no wave of its own
    [3, DEFAULT_WAVES, 'a | bc'],
    [1, DEFAULT_WAVES, 'a'],
    [2, DEFAULT_WAVES, 'a | b'],
    [5, '2', 'ab | cde'], // the rest form a final wave
    [5, '1,2,3', 'a | b | c | de'],
    [4, '100%', 'abcd'],
    [4, '10,20', 'abcd'], // more than the fleet is the whole fleet
    [10, '10%,30%,100%', 'a | bc | defghij'],
    [7, '1,2,50%', 'a | b | cd | efg'], // 50% of 7 rounds up to 4
  ])('%i clusters, --waves %s → %s', (n, text, expected) => {
    expect(waves(n, text)).toBe(expected)
  })

  it('refuses marks that go back once counted against the fleet', () => {
    const m = parseWaves('3,25%')
    if (!m.ok) throw new Error(m.problem)
    const r = planWaves(names(8), m.value)
    expect(r).toMatchObject({ ok: false })
    if (!r.ok) expect(r.problem).toContain('go back')
  })
})

describe('parseWaves', () => {
  it.each([
    ['1,25%,100%', [{ count: 1 }, { percent: 25 }, { percent: 100 }]],
    [' 2 , 100% ', [{ count: 2 }, { percent: 100 }]],
  ])('%s', (text, marks) => expect(parseWaves(text)).toEqual({ ok: true, value: marks }))

  it.each([
    ['', 'neither'],
    ['0,100%', 'neither'],
    ['1,101%', 'neither'],
    ['1,,2', 'neither'],
    ['-1', 'neither'],
    ['1.5', 'neither'],
    ['50%,10%', 'must ascend'],
    ['3,2', 'must ascend'],
    ['1,'.repeat(60), 'too long'],
  ])('refuses %j (%s)', (text, problem) => {
    const r = parseWaves(text)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.problem).toContain(problem)
  })
})

describe('flags', () => {
  it.each([
    [undefined, { ok: true, value: 4 }],
    [1, { ok: true, value: 1 }],
    [0, { ok: false }],
    [65, { ok: false }],
  ])('--parallel %s', (n, expected) => expect(parseParallel(n)).toMatchObject(expected))

  it.each([
    [undefined, { ok: true, value: 'abort-wave' }],
    ['finish-wave', { ok: true, value: 'finish-wave' }],
    ['abort', { ok: false }],
  ])('--on-failure %s', (text, expected) => expect(parseOnFailure(text)).toMatchObject(expected))

  it.each([
    ['a,b, c', { ok: true, value: ['a', 'b', 'c'] }],
    ['edgecanary-sandbox,pi@shop-1', { ok: true, value: ['edgecanary-sandbox', 'pi@shop-1'] }],
    [',', { ok: false, problem: expect.stringContaining('names no context') }],
    ['a,b,a', { ok: false, problem: expect.stringContaining('names "a" twice') }],
    ['a,$(x)', { ok: false, problem: expect.stringContaining('is not a context name') }],
  ])('--contexts %j', (text, expected) => expect(parseContexts(text)).toMatchObject(expected))

  it.each([
    ['abort-wave', { abortRunning: true, startPending: false }],
    ['finish-wave', { abortRunning: false, startPending: false }],
  ] as const)('after a rollback with --on-failure %s', (mode, expected) =>
    expect(afterFailure(mode)).toEqual(expected),
  )
})

describe('nextFleetStep and fleetPhase', () => {
  const W = [['a'], ['b', 'c'], ['d']]
  it.each<[string, Record<string, ClusterOutcome>, ReturnType<typeof nextFleetStep>, string]>([
    ['fresh fleet: the first wave', {}, { kind: 'run', wave: 0, clusters: ['a'] }, 'Progressing'],
    [
      'first wave done: the second',
      { a: 'done' },
      { kind: 'run', wave: 1, clusters: ['b', 'c'] },
      'Progressing',
    ],
    [
      'resume: only what is not done',
      { a: 'done', b: 'done', c: 'running' },
      { kind: 'run', wave: 1, clusters: ['c'] },
      'Progressing',
    ],
    [
      'a rollback stops the fleet: no further wave',
      { a: 'done', b: 'failed', c: 'done' },
      { kind: 'stopped', wave: 1, failed: ['b'] },
      'Stopped',
    ],
    [
      'abort-wave: the failed and the aborted',
      { a: 'done', b: 'failed', c: 'aborted' },
      { kind: 'stopped', wave: 1, failed: ['b', 'c'] },
      'Stopped',
    ],
    [
      'stopped by `edgecanary abort`',
      { a: 'done', b: 'aborted', c: 'aborted' },
      { kind: 'stopped', wave: 1, failed: ['b', 'c'] },
      'Aborted',
    ],
    [
      'a skipped cluster does not hold its wave back',
      { a: 'skipped', b: 'done', c: 'done' },
      { kind: 'run', wave: 2, clusters: ['d'] },
      'Progressing',
    ],
    ['all done', { a: 'done', b: 'done', c: 'done', d: 'done' }, { kind: 'succeeded' }, 'Succeeded'],
  ])('%s', (_name, outcomes, step, phase) => {
    expect(nextFleetStep(W, outcomes)).toEqual(step)
    expect(fleetPhase(W, outcomes)).toBe(phase)
  })
})

describe('clusterOutcome', () => {
  it.each<
    [string, { version: string; phase: string } | undefined, ClusterOutcome | undefined, ClusterOutcome]
  >([
    ['2.0', { version: '2.0', phase: 'Succeeded' }, undefined, 'done'],
    ['2.0', { version: '2.0', phase: 'Succeeded' }, 'running', 'done'],
    ['2.0', { version: '2.0', phase: 'Interrupted' }, 'running', 'running'],
    ['2.0', { version: '2.0', phase: 'Progressing' }, undefined, 'running'],
    ['2.0', { version: '2.0', phase: 'RolledBack' }, 'running', 'failed'],
    ['2.0', { version: '2.0', phase: 'Aborted' }, 'running', 'aborted'],
    ['2.0', { version: '2.0', phase: 'RolledBack' }, 'failed', 'failed'],
    ['2.0', { version: '2.0', phase: 'RolledBack' }, undefined, 'untouched'], // an earlier attempt
    ['2.0', { version: '1.0', phase: 'Succeeded' }, undefined, 'untouched'],
    ['2.0', { version: '1.0', phase: 'Succeeded' }, 'skipped', 'untouched'], // preflight decides again
    ['2.0', undefined, undefined, 'untouched'],
  ])('release %s, cluster %j, recorded %s → %s', (version, state, recorded, expected) => {
    expect(clusterOutcome(version, state, recorded)).toBe(expected)
  })
})

describe('fleet: in edgecanary.yaml', () => {
  it('accepts contexts with an optional namespace and registry', () => {
    const r = validateConfig({
      fleet: [
        { context: 'pi-shop-1' },
        { context: 'pi-shop-2', namespace: 'shop', registry: '10.0.2.1:5000' },
      ],
    })
    expect(r).toMatchObject({
      ok: true,
      config: { fleet: [{ context: 'pi-shop-1' }, { namespace: 'shop' }] },
    })
  })
  it.each([
    [{ fleet: [] }, 'fleet:'],
    [{ fleet: [{ namespace: 'x' }] }, 'fleet.0.context'],
    [{ fleet: [{ context: 'a', namespace: 'Shop' }] }, 'fleet.0.namespace'],
    [{ fleet: [{ context: 'a', registry: 'http://x' }] }, 'fleet.0.registry: must be HOST or HOST:PORT'],
    [{ fleet: [{ context: 'a', colour: 'red' }] }, 'colour'],
    [{ fleet: [{ context: 'a' }, { context: 'a' }] }, 'names a context twice'],
  ])('names the problem in %j', (doc, expected) => {
    const r = validateConfig(doc)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.problems.join('\n')).toContain(expected)
  })
})
