import { describe, expect, it } from 'vitest'
import { validateConfig } from './config.js'
import { envFlags, releaseSettings } from './release-flags.js'

const cfg = (() => {
  const r = validateConfig({})
  if (!r.ok) throw new Error('defaults')
  return r.config
})()

describe('releaseSettings: flags checked by the config schema', () => {
  it.each([
    [{ iterations: 1e20 }, '--iterations 100000000000000000000: too big: expected number to be <=100'],
    [{ iterations: 101 }, '--iterations 101: too big'],
    [{ iterations: 0 }, '--iterations 0: too small'],
    [
      { interval: '99999999999999999999s' },
      '--interval 99999999999999999999s: must be between 100ms and 60m',
    ],
    [{ interval: '61m' }, '--interval 61m: must be between 100ms and 60m'],
    [{ interval: '10' }, '--interval 10: must be a duration like 10s'],
    [{ load: 1001 }, '--load 1001: too big'],
    [{ load: -1 }, '--load -1: too small'],
    [{ steps: '0,50' }, 'steps "0,50" must be weights between 1 and 99'],
    [{ steps: '50,25' }, 'steps "50,25" must be ascending'],
    [{ steps: Array.from({ length: 21 }, (_, i) => i + 1).join(',') }, '--steps 1,2,'],
    [{ notify: ['file:///etc/passwd'] }, '--notify "file:///etc/passwd": must be an http(s) URL'],
    [{ notify: ['hooks.slack.com/x'] }, '--notify "hooks.slack.com/x": must be an http(s) URL'],
  ])('%j is refused: %s', (flags, problem) => {
    const r = releaseSettings(cfg, flags)
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.problem).toContain(problem)
    expect(r.hint).toBeTruthy()
  })

  it('the same values the file takes are taken, and override it', () => {
    const r = releaseSettings(cfg, {
      interval: '2s',
      iterations: 100,
      load: 0,
      steps: '50',
      notify: ['https://h/x'],
    })
    expect(r).toEqual({
      ok: true,
      analysis: { ...cfg.analysis, interval: '2s', iterations: 100, load: 0 },
      steps: [50],
      notify: ['https://h/x'],
    })
    expect(releaseSettings(cfg, {})).toEqual({
      ok: true,
      analysis: cfg.analysis,
      steps: [25, 50, 75],
      notify: [],
    })
  })

  it('the file refuses what the flags refuse', () => {
    for (const doc of [
      { analysis: { iterations: 101 } },
      { analysis: { interval: '99999999999999999999s' } },
      { analysis: { load: 1001 } },
      { steps: [0] },
      { notify: ['ftp://x/y'] },
    ])
      expect(validateConfig(doc).ok, JSON.stringify(doc)).toBe(false)
  })
})

describe('envFlags: --env K=V', () => {
  it.each([
    [[], { ok: true, env: {} }],
    [['FAIL_RATE=0.3'], { ok: true, env: { FAIL_RATE: '0.3' } }],
    [['A=b=c', 'E='], { ok: true, env: { A: 'b=c', E: '' } }],
    [['=x'], { ok: false, problem: '--env "=x" is not K=V', hint: 'e.g. --env FAIL_RATE=0.3' }],
    [['NOEQUALS'], { ok: false, problem: '--env "NOEQUALS" is not K=V', hint: 'e.g. --env FAIL_RATE=0.3' }],
  ] as const)('%j → %j', (pairs, expected) => {
    expect(envFlags(pairs)).toEqual(expected)
  })
})
