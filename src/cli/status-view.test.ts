import { describe, expect, it } from 'vitest'
import type { StatusReport } from '../release/status.js'
import { ratioBar, redraw, renderStatus, watchDone } from './status-view.js'

describe('ratioBar', () => {
  it.each([
    [3, 1, 8, '██████▒▒'],
    [2, 2, 8, '████▒▒▒▒'],
    [4, 0, 8, '████████'],
    [0, 4, 8, '▒▒▒▒▒▒▒▒'],
    [1, 99, 8, '█▒▒▒▒▒▒▒'],
    [99, 1, 8, '███████▒'],
    [0, 0, 4, '····'],
  ])('stable %i canary %i width %i → %s', (s, c, w, bar) => expect(ratioBar(s, c, w)).toBe(bar))
})

describe('renderStatus', () => {
  const r: StatusReport = {
    app: 'kubeapp',
    namespace: 'production',
    phase: 'Progressing',
    version: '2.0',
    previousVersion: '1.0',
    step: '1/3',
    ratio: '3:1',
    stable: { replicas: 3, ready: 3, image: 'r/kubeapp:1.0' },
    canary: { replicas: 1, ready: 1, image: 'r/kubeapp:2.0' },
    lastAnalysis: { at: 'T', ok: true, canaryRequests: 12, canaryErrors: 0, p99Ms: 4 },
  }
  it('shows the phase, a ratio bar with the step, the pods and the last analysis', () => {
    expect(renderStatus(r).split('\n')).toEqual([
      'kubeapp in production: Progressing (release 2.0 from 1.0)',
      '  ratio     ███████████████▒▒▒▒▒  stable 3 : canary 1   step 1/3',
      '  stable    3/3 ready   r/kubeapp:1.0',
      '  canary    1/1 ready   r/kubeapp:2.0',
      '  analysis  ok (12 canary requests, 0 errors, p99 4ms)',
    ])
  })
})

describe('redraw', () => {
  it.each([
    [0, 'a\nb', 80, 'a\nb\n'],
    [2, 'c', 80, '\u001b[2F\u001b[Jc\n'],
    [1, 'abcdefghij', 6, '\u001b[1F\u001b[Jabcd…\n'],
  ])('%i lines shown, %j in %i columns', (shown, text, cols, out) =>
    expect(redraw(shown, text, cols)).toBe(out),
  )
})

describe('watchDone', () => {
  it.each([
    // first seen, now, done
    [{ phase: 'Succeeded', startedAt: 'T1' }, { phase: 'Succeeded', startedAt: 'T1' }, false],
    [{ phase: 'Succeeded', startedAt: 'T1' }, { phase: 'Progressing', startedAt: 'T2' }, false],
    [{ phase: 'Succeeded', startedAt: 'T1' }, { phase: 'RolledBack', startedAt: 'T2' }, true],
    [{ phase: 'Initialized' }, { phase: 'Initialized' }, false],
    [{ phase: 'Initialized' }, { phase: 'Succeeded', startedAt: 'T1' }, true],
    [{ phase: 'NotFound' }, { phase: 'Aborted', startedAt: 'T1' }, true],
    [{ phase: 'Progressing', startedAt: 'T1' }, { phase: 'Paused', startedAt: 'T1' }, false],
    [{ phase: 'Progressing', startedAt: 'T1' }, { phase: 'Succeeded', startedAt: 'T1' }, true],
    [{ phase: 'Interrupted', startedAt: 'T1' }, { phase: 'Aborted', startedAt: 'T1' }, true],
  ])('%j then %j → %s', (first, now, done) => expect(watchDone(first, now)).toBe(done))
})
