import { describe, expect, it } from 'vitest'
import { RES } from './resources.js'
import { MemoryStore } from './store.js'
import type { KObject, WatchEvent } from './types.js'

function deployment(name: string, labels = { app: name }): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'production', labels },
    spec: {
      replicas: 3,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'r/app:1.0' }] } },
    },
  }
}

function withNamespace(): MemoryStore {
  const s = new MemoryStore()
  s.create(RES.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'production' } })
  return s
}

describe('MemoryStore', () => {
  it('fills Kubernetes defaults and generation 1 on create', () => {
    const d = withNamespace().create(RES.deployments, deployment('kubeapp'))
    expect(d.metadata.generation).toBe(1)
    expect(d.metadata.uid).toMatch(/^[0-9a-f-]{36}$/)
    expect(d.spec).toMatchObject({
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      progressDeadlineSeconds: 600,
      revisionHistoryLimit: 10,
    })
  })

  it('answers a stale update with 409 Conflict and bumps generation only on spec changes', () => {
    const s = withNamespace()
    const d = s.create(RES.deployments, deployment('kubeapp'))
    const withLabel = s.update(RES.deployments, { ...d, metadata: { ...d.metadata, labels: { x: 'y' } } })
    expect(withLabel.metadata.generation).toBe(1)
    expect(() => s.update(RES.deployments, d)).toThrow(/the object has been modified/)
    const scaled = s.update(RES.deployments, {
      ...withLabel,
      spec: { ...(withLabel.spec as object), replicas: 5 },
    })
    expect(scaled.metadata.generation).toBe(2)
  })

  it('refuses a selector change with 422 field is immutable', () => {
    const s = withNamespace()
    const d = s.create(RES.deployments, deployment('kubeapp'))
    const changed = deployment('kubeapp', { app: 'other' })
    changed.metadata.resourceVersion = d.metadata.resourceVersion
    try {
      s.update(RES.deployments, changed)
      expect.unreachable()
    } catch (err) {
      expect((err as { code: number }).code).toBe(422)
      expect((err as Error).message).toContain('spec.selector')
      expect((err as Error).message).toContain('field is immutable')
    }
  })

  it('keeps status out of normal updates and writes it through updateStatus', () => {
    const s = withNamespace()
    const d = s.create(RES.deployments, deployment('kubeapp'))
    const u = s.update(RES.deployments, { ...d, status: { replicas: 99 } })
    expect(u.status).toBeUndefined()
    const st = s.updateStatus(RES.deployments, { ...u, status: { replicas: 3 } })
    expect(st.status).toEqual({ replicas: 3 })
    expect(st.metadata.generation).toBe(1)
  })

  it('watches from a resourceVersion and says 410 when it is too old', () => {
    const s = withNamespace()
    const d = s.create(RES.deployments, deployment('kubeapp'))
    const seen: WatchEvent[] = []
    const w = s.watch(
      RES.deployments,
      { namespace: 'production', resourceVersion: d.metadata.resourceVersion },
      (e) => seen.push(e),
    )
    s.update(RES.deployments, { ...d, spec: { ...(d.spec as object), replicas: 4 } })
    s.delete(RES.deployments, 'production', 'kubeapp')
    w.stop()
    expect(seen.map((e) => e.type)).toEqual(['MODIFIED', 'DELETED'])
    for (let i = 0; i < 10_050; i++)
      s.create(RES.configmaps, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `c${i}`, namespace: 'production' },
      })
    expect(() => s.watch(RES.deployments, { resourceVersion: '2' }, () => {})).toThrow(
      /too old resource version/,
    )
  })

  it('deletes pods on a node gracefully and cascades to dependents', () => {
    const s = withNamespace()
    const d = s.create(RES.deployments, deployment('kubeapp'))
    const pod = s.create(RES.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'p',
        namespace: 'production',
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'Deployment', name: 'kubeapp', uid: d.metadata.uid ?? '' },
        ],
      },
      spec: { nodeName: 'pi-1', containers: [{ name: 'app', image: 'x' }] },
    })
    expect(pod.status).toEqual({ phase: 'Pending' })
    s.delete(RES.deployments, 'production', 'kubeapp')
    const terminating = s.get(RES.pods, 'production', 'p')
    expect(terminating?.metadata.deletionTimestamp).toBeDefined()
    expect(terminating?.metadata.deletionGracePeriodSeconds).toBe(30)
    s.delete(RES.pods, 'production', 'p', { gracePeriodSeconds: 0 })
    expect(s.get(RES.pods, 'production', 'p')).toBeUndefined()
  })

  it('selects by label and field', () => {
    const s = withNamespace()
    s.create(RES.deployments, deployment('a'))
    s.create(RES.deployments, deployment('b'))
    expect(s.list(RES.deployments, { labelSelector: 'app!=a' }).items.map((x) => x.metadata.name)).toEqual([
      'b',
    ])
    expect(
      s.list(RES.deployments, { fieldSelector: 'metadata.name=a' }).items.map((x) => x.metadata.name),
    ).toEqual(['a'])
  })
  it('delivers a write made inside a watcher after the event that caused it, to every watcher', () => {
    // the kubelet's watcher recomputes Ready when a readiness gate is patched: the watchers
    // registered after it (an HTTP watch, kubectl get -w) must still see the patch first
    const s = withNamespace()
    const d = s.create(RES.deployments, deployment('kubeapp'))
    s.watch(RES.deployments, {}, (ev) => {
      const labels = ev.object.metadata.labels ?? {}
      if (ev.type === 'MODIFIED' && labels.gate === 'open' && !labels.ready) {
        const cur = s.get(RES.deployments, 'production', 'kubeapp')
        if (cur)
          s.update(RES.deployments, {
            ...cur,
            metadata: { ...cur.metadata, labels: { ...labels, ready: 'yes' } },
          })
      }
    })
    const seen: { rv: number; labels: Record<string, string> }[] = []
    s.watch(RES.deployments, { resourceVersion: s.resourceVersion() }, (ev) =>
      seen.push({ rv: Number(ev.object.metadata.resourceVersion), labels: ev.object.metadata.labels ?? {} }),
    )
    s.update(RES.deployments, { ...d, metadata: { ...d.metadata, labels: { app: 'kubeapp', gate: 'open' } } })
    expect(seen.map((e) => e.rv)).toEqual([...seen.map((e) => e.rv)].sort((a, b) => a - b))
    expect(seen.map((e) => e.labels.ready)).toEqual([undefined, 'yes'])
    expect(seen.at(-1)?.rv).toBe(Number(s.resourceVersion()))
  })

  it('sends a write made during a watch replay after the replayed events, once', () => {
    const s = withNamespace()
    s.create(RES.deployments, deployment('a'))
    const names: string[] = []
    s.watch(RES.deployments, {}, (ev) => {
      names.push(`${ev.type} ${ev.object.metadata.name}`)
      if (ev.object.metadata.name === 'a' && ev.type === 'ADDED') s.create(RES.deployments, deployment('b'))
    })
    expect(names).toEqual(['ADDED a', 'ADDED b'])
  })
})
