import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { adoptK3sKubeconfig, mergeKubeconfig, removeContext } from './kubeconfig.js'

const other = `apiVersion: v1
kind: Config
clusters: [{ name: other, cluster: { server: https://127.0.0.1:9 } }]
users: [{ name: other, user: { token: abc } }]
contexts: [{ name: other, context: { cluster: other, user: other } }]
current-context: other
`
const sandbox = `clusters: [{ name: s, cluster: { server: https://127.0.0.1:1 } }]
users: [{ name: s, user: { token: t } }]
contexts: [{ name: s, context: { cluster: s, user: s } }]
`

describe('kubeconfig merge', () => {
  it('adds entries, keeps the others and switches the current context', () => {
    const out = parse(mergeKubeconfig(other, sandbox, { makeCurrent: 's' }))
    expect(out.contexts.map((c: { name: string }) => c.name)).toEqual(['other', 's'])
    expect(out['current-context']).toBe('s')
    expect(out.users.find((u: { name: string }) => u.name === 'other').user.token).toBe('abc')
  })

  it('replaces same-named entries instead of duplicating them', () => {
    const once = mergeKubeconfig(other, sandbox)
    const twice = parse(mergeKubeconfig(once, sandbox.replace('127.0.0.1:1', '127.0.0.1:2')))
    expect(twice.clusters.filter((c: { name: string }) => c.name === 's')).toEqual([
      { name: 's', cluster: { server: 'https://127.0.0.1:2' } },
    ])
  })

  it('starts from an empty file', () => {
    expect(parse(mergeKubeconfig('', sandbox, { makeCurrent: 's' }))).toMatchObject({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 's',
    })
  })

  it('removes a context with its cluster and user, and clears current-context', () => {
    const merged = mergeKubeconfig(other, sandbox, { makeCurrent: 's' })
    const r = removeContext(merged, 's')
    expect(r.removed).toBe(true)
    const out = parse(r.yaml)
    expect(out.contexts.map((c: { name: string }) => c.name)).toEqual(['other'])
    expect(out.clusters.map((c: { name: string }) => c.name)).toEqual(['other'])
    expect(out['current-context']).toBe('')
    expect(removeContext(other, 's').removed).toBe(false)
  })
})

describe('adoptK3sKubeconfig', () => {
  const k3s = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Q0E=
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
`
  it('rewrites the server host, keeps the port and credentials, renames every entry', () => {
    const out = parse(adoptK3sKubeconfig(k3s, { host: '10.0.0.10', name: 'edgecanary' }))
    expect(out.clusters).toEqual([
      {
        name: 'edgecanary',
        cluster: { 'certificate-authority-data': 'Q0E=', server: 'https://10.0.0.10:6443' },
      },
    ])
    expect(out.users).toEqual([
      { name: 'edgecanary', user: { 'client-certificate-data': 'Q0VSVA==', 'client-key-data': 'S0VZ' } },
    ])
    expect(out.contexts).toEqual([
      { name: 'edgecanary', context: { cluster: 'edgecanary', user: 'edgecanary' } },
    ])
    expect(out['current-context']).toBe('edgecanary')
  })
  it('brackets an IPv6 server address', () => {
    const out = parse(adoptK3sKubeconfig(k3s, { host: 'fd00::10', name: 'x' }))
    expect(out.clusters[0].cluster.server).toBe('https://[fd00::10]:6443')
  })
  it.each(['', 'clusters: []', 'just text'])('refuses %j', (text) => {
    expect(() => adoptK3sKubeconfig(text, { host: 'h', name: 'n' })).toThrow()
  })
})
