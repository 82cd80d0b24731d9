import { describe, expect, it } from 'vitest'
import { fromSelectorObject, matches, parseSelector } from './label-selector.js'

describe('label selectors', () => {
  it.each([
    ['app=kubeapp', { app: 'kubeapp' }, true],
    ['app==kubeapp', { app: 'other' }, false],
    ['app=kubeapp,track!=canary', { app: 'kubeapp', track: 'stable' }, true],
    ['app=kubeapp,track!=canary', { app: 'kubeapp', track: 'canary' }, false],
    ['track!=canary', {}, true],
    ['env in (a, b)', { env: 'b' }, true],
    ['env notin (a,b)', { env: 'b' }, false],
    ['env', { env: '' }, true],
    ['!env', { env: 'x' }, false],
    ['', { any: 'x' }, true],
  ])('%s on %j → %s', (sel, labels, ok) => {
    expect(matches(labels, parseSelector(sel))).toBe(ok)
  })

  it('rejects text it cannot parse', () => expect(() => parseSelector('a in b')).toThrow('unable to parse'))

  it('reads LabelSelector objects', () => {
    const reqs = fromSelectorObject({
      matchLabels: { app: 'a' },
      matchExpressions: [{ key: 'track', operator: 'In', values: ['stable'] }],
    })
    expect(matches({ app: 'a', track: 'stable' }, reqs)).toBe(true)
    expect(matches({ app: 'a', track: 'canary' }, reqs)).toBe(false)
  })
})
