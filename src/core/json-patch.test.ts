import { describe, expect, it } from 'vitest'
import { mergeToJsonPatch, pointerSegment } from './json-patch.js'

describe('pointerSegment', () => {
  it.each([
    ['replicas', 'replicas'],
    ['edgecanary.dev/epoch', 'edgecanary.dev~1epoch'],
    ['a~b/c', 'a~0b~1c'],
  ])('%s → %s', (key, segment) => {
    expect(pointerSegment(key)).toBe(segment)
  })
})

describe('mergeToJsonPatch', () => {
  it.each([
    // merge patch, JSON patch
    [{ spec: { replicas: 0 } }, [{ op: 'add', path: '/spec/replicas', value: 0 }]],
    [
      { metadata: { annotations: { 'edgecanary.dev/request': null } } },
      [
        { op: 'add', path: '/metadata/annotations/edgecanary.dev~1request', value: null },
        { op: 'remove', path: '/metadata/annotations/edgecanary.dev~1request' },
      ],
    ],
    // a list is replaced whole, as a merge patch replaces it
    [
      { spec: { template: { spec: { containers: [{ name: 'app', image: 'r/app:2.0' }] } } } },
      [{ op: 'add', path: '/spec/template/spec/containers', value: [{ name: 'app', image: 'r/app:2.0' }] }],
    ],
    // several leaves, in the merge patch's order; an empty object asks for nothing
    [
      {
        spec: {
          replicas: 4,
          strategy: { rollingUpdate: { maxSurge: '100%', maxUnavailable: 0 } },
          template: {},
        },
      },
      [
        { op: 'add', path: '/spec/replicas', value: 4 },
        { op: 'add', path: '/spec/strategy/rollingUpdate/maxSurge', value: '100%' },
        { op: 'add', path: '/spec/strategy/rollingUpdate/maxUnavailable', value: 0 },
      ],
    ],
    [{}, []],
  ])('%j', (merge, ops) => {
    expect(mergeToJsonPatch(merge)).toEqual(ops)
  })
})
