import { describe, expect, it } from 'vitest'
import { allocateClusterIP, inCidr } from './cluster-ip.js'
import { RES } from './resources.js'
import { MemoryStore } from './store.js'
import type { KObject } from './types.js'

describe('ClusterIP allocation', () => {
  it.each([
    ['10.43.0.10', true],
    ['10.43.255.254', true],
    ['10.42.0.1', false],
    ['10.44.0.1', false],
  ])('%s in 10.43.0.0/16: %s', (ip, want) => expect(inCidr(ip, '10.43.0.0/16')).toBe(want))

  it('gives a free random address of the range, the one asked for, or a 422 cause', () => {
    expect(allocateClusterIP(new Set(), undefined, () => 0)).toEqual({ ip: '10.43.0.2' })
    expect(allocateClusterIP(new Set(['10.43.0.2']), undefined, () => 0)).toEqual({ ip: '10.43.0.3' })
    expect(allocateClusterIP(new Set(), '10.43.9.9')).toEqual({ ip: '10.43.9.9' })
    expect(allocateClusterIP(new Set(), 'None')).toEqual({ ip: 'None' })
    expect(JSON.stringify(allocateClusterIP(new Set(), '10.0.0.1'))).toContain(
      'failed to allocate IP 10.0.0.1: the provided IP (10.0.0.1) is not in the valid range. The range of valid IPs is 10.43.0.0/16',
    )
    expect(JSON.stringify(allocateClusterIP(new Set(['10.43.9.9']), '10.43.9.9'))).toContain(
      'provided IP is already allocated',
    )
  })

  it('the store gives each Service its own ClusterIP, keeps it on update and refuses a change', () => {
    const s = new MemoryStore()
    s.create(RES.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } })
    const svc = (name: string, spec: Record<string, unknown> = {}): KObject => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'default' },
      spec: { ports: [{ port: 80 }], ...spec },
    })
    const ips = ['a', 'b', 'c'].map(
      (n) => (s.create(RES.services, svc(n)).spec as { clusterIP: string }).clusterIP,
    )
    expect(new Set(ips).size).toBe(3)
    for (const ip of ips) expect(inCidr(ip, '10.43.0.0/16')).toBe(true)
    const a = s.get(RES.services, 'default', 'a') as KObject
    expect(a.spec).toMatchObject({
      clusterIPs: [ips[0]],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
    })
    const kept = s.update(RES.services, { ...a, spec: { ports: [{ port: 81 }] } })
    expect((kept.spec as { clusterIP: string }).clusterIP).toBe(ips[0])
    expect(() =>
      s.update(RES.services, {
        ...kept,
        spec: { ...(kept.spec as object), clusterIP: '10.43.1.1', clusterIPs: ['10.43.1.1'] },
      }),
    ).toThrow('may not change once set')
    expect(() => s.create(RES.services, svc('d', { clusterIP: ips[1] }))).toThrow('already allocated')
    expect(
      (s.create(RES.services, svc('h', { clusterIP: 'None' })).spec as { clusterIP: string }).clusterIP,
    ).toBe('None')
  })
})
