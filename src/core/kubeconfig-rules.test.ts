import { describe, expect, it } from 'vitest'
import { defaultWriteFile } from './kubeconfig.js'
import {
  absolutePaths,
  kubeconfigLoadOrder,
  mergeKubeconfigFiles,
  resolveKubeconfig,
} from './kubeconfig-rules.js'

describe('kubeconfigLoadOrder', () => {
  it.each([
    // flag, KUBECONFIG, paths, explicit
    ['k', 'a:b', ['k'], true],
    [undefined, 'a::b:a', ['a', 'b'], false],
    [undefined, '', ['/h/.kube/config'], false],
    [undefined, undefined, ['/h/.kube/config'], false],
    [undefined, ':', ['/h/.kube/config'], false],
  ] as const)('flag %s, KUBECONFIG %j → %j', (flag, kc, paths, explicit) => {
    const r = kubeconfigLoadOrder({ flag, env: { KUBECONFIG: kc }, home: '/h' })
    expect(r.paths).toEqual(paths)
    expect(r.explicit).toBe(explicit)
  })
})

describe('defaultWriteFile', () => {
  const f = (path: string, exists: boolean) => ({ path, text: exists ? '' : undefined })
  it.each([
    // files, explicit, fromEnv, target
    [[f('k', false)], true, false, 'k'],
    [[f('a', false)], false, true, 'a'],
    [[f('a', false), f('b', true), f('c', true)], false, true, 'b'],
    [[f('a', false), f('b', false)], false, true, 'b'],
    [[f('/h/.kube/config', false)], false, false, '/h/.kube/config'],
  ] as const)('%j → %s', (files, explicit, fromEnv, target) => {
    expect(defaultWriteFile({ files: [...files], explicit, fromEnv })).toBe(target)
  })
})

describe('resolveKubeconfig', () => {
  const a = `clusters: [{ name: c, cluster: { server: https://a, certificate-authority: ca.pem } }]
users: [{ name: u, user: { client-key: k.pem, client-certificate: /abs/c.pem, exec: { command: ./bin/cred } } }]
contexts: [{ name: x, context: { cluster: c, user: u, namespace: ns } }]
current-context: x`
  const b = `clusters: [{ name: c, cluster: { server: https://b } }, { name: d, cluster: { server: https://d } }]
contexts: [{ name: z, context: { cluster: d, user: u } }, { name: broken, context: { cluster: none } }]
current-context: z`
  const merged = mergeKubeconfigFiles([
    { path: '/cfg/a', text: a },
    { path: '/missing', text: undefined },
    { path: '/other/b', text: b },
  ])
  it.each([
    // --context, server or error, namespace
    [undefined, 'https://a', 'ns'],
    ['z', 'https://d', undefined],
    ['broken', 'unknown-cluster', undefined],
    ['nope', 'unknown-context', undefined],
  ] as const)('--context %s → %s', (ctx, want, ns) => {
    const r = resolveKubeconfig(merged, ctx)
    if ('error' in r) expect(r.error).toBe(want)
    else {
      expect(r.cluster.body.server).toBe(want)
      expect(r.namespace).toBe(ns)
    }
  })
  it('makes file references absolute against the file that defines them', () => {
    const r = resolveKubeconfig(merged)
    if ('error' in r || !r.user) throw new Error('unresolved')
    expect(absolutePaths('cluster', r.cluster)['certificate-authority']).toBe('/cfg/ca.pem')
    expect(absolutePaths('user', r.user)).toMatchObject({
      'client-key': '/cfg/k.pem',
      'client-certificate': '/abs/c.pem',
      exec: { command: '/cfg/bin/cred' },
    })
  })
})
