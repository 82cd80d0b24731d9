import { describe, expect, it } from 'vitest'
import { fromSelectorObject, matches, parseSelector, selectorProblems } from './label-selector.js'

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
    ['env in (in, notin)', { env: 'in' }, true],
    ['!env,app', { app: 'x' }, true],
    ['n>3', { n: '4' }, true],
    ['n<3', { n: '4' }, false],
    ['env=', { env: '' }, true],
  ])('%s on %j → %s', (sel, labels, ok) => {
    expect(matches(labels, parseSelector(sel))).toBe(ok)
  })

  it.each([
    ['a in b', "unable to parse requirement: found 'b' expected: '('"],
    ['a=b=c', "found '=', expected: ',' or 'end of string'"],
    ['a,', "found '', expected: identifier after ','"],
    ['=a', "found '=', expected: !, identifier, or 'end of string'"],
    ['a in (b', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['a @ b', "unable to parse requirement: found '@', expected: in, notin, =, ==, !=, gt, lt"],
    ['a>x', "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer"],
  ])('refuses %s as apimachinery does', (text, message) => expect(() => parseSelector(text)).toThrow(message))

  it('reads LabelSelector objects', () => {
    const reqs = fromSelectorObject({
      matchLabels: { app: 'a' },
      matchExpressions: [{ key: 'track', operator: 'In', values: ['stable'] }],
    })
    expect(matches({ app: 'a', track: 'stable' }, reqs)).toBe(true)
    expect(matches({ app: 'a', track: 'canary' }, reqs)).toBe(false)
  })

  it('refuses operators Kubernetes does not know, and never matches with them', () => {
    const sel = { matchExpressions: [{ key: 'track', operator: 'in', values: ['stable'] }] }
    expect(matches({ track: 'stable' }, fromSelectorObject(sel))).toBe(false)
    expect(selectorProblems(sel, 'spec.selector')).toEqual([
      {
        field: 'spec.selector.matchExpressions[0].operator',
        reason: 'FieldValueInvalid',
        message: 'Invalid value: "in": not a valid selector operator',
      },
    ])
    expect(selectorProblems({ matchExpressions: [{ key: 'a', operator: 'In' }] }, 's')[0].field).toBe(
      's.matchExpressions[0].values',
    )
  })
})
