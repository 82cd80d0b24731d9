import { describe, expect, it } from 'vitest'
import type { ApiStatusError } from '../api-errors.js'
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js'

describe('patches', () => {
  it.each([
    [{ a: 1, b: { c: 2, d: 3 } }, { b: { c: null, e: 4 } }, { a: 1, b: { d: 3, e: 4 } }],
    [{ list: [1, 2] }, { list: [3] }, { list: [3] }],
  ])('merge patch %j + %j', (doc, patch, out) => expect(mergePatch(doc, patch)).toEqual(out))

  it('strategic merge merges containers by name and env by name, honouring $setElementOrder', () => {
    const doc = {
      containers: [
        { name: 'a', image: 'a:1', env: [{ name: 'X', value: '1' }] },
        { name: 'b', image: 'b:1' },
      ],
    }
    const patch = {
      '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }],
      containers: [{ name: 'a', image: 'a:2', env: [{ name: 'Y', value: '2' }] }],
    }
    expect(strategicMergePatch(doc, patch, 'k8s.io.api.core.v1.PodSpec')).toEqual({
      containers: [
        { name: 'b', image: 'b:1' },
        {
          name: 'a',
          image: 'a:2',
          env: [
            { name: 'X', value: '1' },
            { name: 'Y', value: '2' },
          ],
        },
      ],
    })
  })

  it('strategic merge deletes list items with $patch: delete and never stores directives', () => {
    const out = strategicMergePatch(
      { ports: [{ containerPort: 80 }, { containerPort: 81 }] },
      { ports: [{ containerPort: 81, $patch: 'delete' }] },
      'k8s.io.api.core.v1.Container',
    )
    expect(out).toEqual({ ports: [{ containerPort: 80 }] })
    expect(JSON.stringify(strategicMergePatch({}, { spec: { $retainKeys: ['a'], a: 1 } }))).not.toContain('$')
  })

  it('takes merge keys from the schema: Service ports by port, not containerPort', () => {
    const svc = {
      spec: {
        ports: [
          { name: 'http', port: 80, targetPort: 8080 },
          { name: 'metrics', port: 9090, targetPort: 9090 },
        ],
      },
    }
    expect(
      strategicMergePatch(
        svc,
        { spec: { ports: [{ name: 'https', port: 443, targetPort: 8443 }] } },
        'k8s.io.api.core.v1.Service',
      ),
    ).toEqual({ spec: { ports: [...svc.spec.ports, { name: 'https', port: 443, targetPort: 8443 }] } })
    expect(
      strategicMergePatch(
        svc,
        { spec: { ports: [{ port: 80, targetPort: 8081 }] } },
        'k8s.io.api.core.v1.Service',
      ),
    ).toEqual({ spec: { ports: [{ name: 'http', port: 80, targetPort: 8081 }, svc.spec.ports[1]] } })
  })

  it('merges metadata.finalizers as a set and replaces lists without a patch strategy', () => {
    const doc = {
      metadata: { finalizers: ['a', 'b'] },
      spec: { containers: [{ name: 'c', args: ['x', 'y'] }] },
    }
    const out = strategicMergePatch(
      doc,
      { metadata: { finalizers: ['b', 'c'] }, spec: { containers: [{ name: 'c', args: ['z'] }] } },
      'k8s.io.api.core.v1.Pod',
    )
    expect(out).toEqual({
      metadata: { finalizers: ['a', 'b', 'c'] },
      spec: { containers: [{ name: 'c', args: ['z'] }] },
    })
    expect(
      strategicMergePatch(
        doc,
        { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } },
        'k8s.io.api.core.v1.Pod',
      ),
    ).toMatchObject({ metadata: { finalizers: ['b'] } })
  })

  it.each([
    [[{ op: 'replace', path: '/spec/replicas', value: 5 }], { spec: { replicas: 5, l: [1] } }],
    [[{ op: 'add', path: '/spec/l/-', value: 2 }], { spec: { replicas: 3, l: [1, 2] } }],
    [[{ op: 'remove', path: '/spec/l/0' }], { spec: { replicas: 3, l: [] } }],
  ])('json patch %j', (ops, out) => expect(jsonPatch({ spec: { replicas: 3, l: [1] } }, ops)).toEqual(out))

  it.each([
    // ops that do not apply: kube-apiserver's 422, the patch library's words as the cause
    [[{ op: 'test', path: '/a', value: 2 }], 'testing value /a failed: test failed'],
    [
      [{ op: 'remove', path: '/b' }],
      'remove operation does not apply: doc is missing path: "/b": missing value',
    ],
    [
      [{ op: 'add', path: '/b/c', value: 1 }],
      'add operation does not apply: doc is missing path: "/b/c": missing value',
    ],
    [
      [{ op: 'copy', from: '/nope', path: '/c' }],
      'copy operation does not apply: doc is missing from path: "/nope": missing value',
    ],
    [
      [{ op: 'replace', path: '/b', value: 1 }],
      'replace operation does not apply: doc is missing path: "/b": missing value',
    ],
    [
      [{ op: 'add', path: '/l/foo', value: 1 }],
      'add operation does not apply: doc is missing path: "/l/foo": invalid index referenced',
    ],
    [
      [{ op: 'add', path: '/l/5', value: 1 }],
      'add operation does not apply: doc is missing path: "/l/5": invalid index referenced',
    ],
    [
      [{ op: 'add', path: '/__proto__/polluted', value: 1 }],
      'modifying `__proto__` or `constructor/prototype` is not allowed',
    ],
    [
      [
        { op: 'add', path: '/a', value: 2 },
        { op: 'remove', path: '/zz' },
      ],
      'remove operation does not apply: doc is missing path: "/zz": missing value',
    ],
  ])('json patch %j does not apply: 422', (ops, cause) => {
    const err = (() => {
      try {
        jsonPatch({ a: 1, l: [1] }, ops)
      } catch (e) {
        return e as ApiStatusError
      }
    })()
    expect(err?.status).toMatchObject({
      code: 422,
      reason: 'Invalid',
      message: 'the server rejected our request due to an error in our request',
      details: { causes: [{ reason: 'UnexpectedServerResponse', message: cause }] },
    })
  })

  it('test compares deeply, whatever the key order; - appends; the input is left alone', () => {
    const doc = { a: { x: 1, y: [1, { p: 2, q: 3 }] }, l: [1, 2] }
    expect(
      jsonPatch(doc, [
        { op: 'test', path: '/a', value: { y: [1, { q: 3, p: 2 }], x: 1 } },
        { op: 'add', path: '/l/-', value: 3 },
        { op: 'add', path: '/l/0', value: 0 },
      ]),
    ).toEqual({ a: doc.a, l: [0, 1, 2, 3] })
    expect(doc.l).toEqual([1, 2])
  })

  it('add /__proto__/polluted does not pollute Object.prototype', () => {
    expect(() => jsonPatch({}, [{ op: 'add', path: '/__proto__/polluted', value: 'yes' }])).toThrow()
    expect(() =>
      jsonPatch({}, [{ op: 'add', path: '/constructor/prototype/polluted', value: 'yes' }]),
    ).toThrow()
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('a JSON patch that is not a list is a 400', () => {
    expect(() => jsonPatch({ a: 1 }, { op: 'test' } as never)).toThrow(/must be an array/)
  })
})
