import { describe, expect, it } from 'vitest'
import { pickNamespace } from './namespace.js'

describe('pickNamespace', () => {
  it.each([
    // flag, config, context, labels, → namespace or ambiguous list
    ['a', 'b', 'c', ['d'], { namespace: 'a', source: 'flag' }],
    [undefined, 'b', 'c', ['d'], { namespace: 'b', source: 'config' }],
    [undefined, undefined, 'c', ['d', 'e'], { namespace: 'c', source: 'context' }],
    [undefined, undefined, undefined, ['d'], { namespace: 'd', source: 'labels' }],
    [undefined, undefined, undefined, ['d', 'd'], { namespace: 'd', source: 'labels' }],
    [undefined, undefined, undefined, ['e', 'd'], { ambiguous: ['d', 'e'] }],
    [undefined, undefined, undefined, [], { namespace: 'production', source: 'default' }],
    [undefined, undefined, '', undefined, { namespace: 'production', source: 'default' }],
  ])('flag %s, config %s, context %s, labels %j → %j', (flag, config, context, labels, out) => {
    expect(pickNamespace({ flag, config, context, labels, fallback: 'production' })).toEqual(out)
  })
})
