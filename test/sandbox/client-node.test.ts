import { AppsV1Api, CoordinationV1Api, CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js'

// @kubernetes/client-node as an independent client of the sandbox API.
describe('@kubernetes/client-node against the sandbox', () => {
  let sb: TestSandbox
  let kc: KubeConfig
  let core: CoreV1Api
  let apps: AppsV1Api
  let coord: CoordinationV1Api
  const ns = 'conformance'

  beforeAll(async () => {
    sb = await startSandbox({ nodes: 1 })
    kc = new KubeConfig()
    kc.loadFromFile(sb.kubeconfig)
    core = kc.makeApiClient(CoreV1Api)
    apps = kc.makeApiClient(AppsV1Api)
    coord = kc.makeApiClient(CoordinationV1Api)
    await core.createNamespace({ body: { metadata: { name: ns } } })
  })
  afterAll(async () => sb?.stop())

  const deployment = (name: string) => ({
    metadata: { name, labels: { app: name } },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: `${sb.registry}/none:1` }] },
      },
    },
  })

  it('creates, reads, lists by label, updates and deletes', async () => {
    const cm = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'a', labels: { team: 'x' } }, data: { k: 'v' } },
    })
    expect(cm.metadata?.resourceVersion).toMatch(/^\d+$/)
    expect(cm.metadata?.creationTimestamp).toBeInstanceOf(Date)
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'b', labels: { team: 'y' } } },
    })
    const list = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'team=x' })
    expect(list.items.map((i) => i.metadata?.name)).toEqual(['a'])
    const upd = await core.replaceNamespacedConfigMap({
      name: 'a',
      namespace: ns,
      body: { ...cm, data: { k: 'w' } },
    })
    expect(upd.data).toEqual({ k: 'w' })
    await core.deleteNamespacedConfigMap({ name: 'b', namespace: ns })
    await expect(core.readNamespacedConfigMap({ name: 'b', namespace: ns })).rejects.toMatchObject({
      code: 404,
    })
  })

  it('answers a stale update with 409 Conflict as a Status', async () => {
    const cm = await core.readNamespacedConfigMap({ name: 'a', namespace: ns })
    await core.replaceNamespacedConfigMap({ name: 'a', namespace: ns, body: { ...cm, data: { k: '1' } } })
    const err = await core
      .replaceNamespacedConfigMap({ name: 'a', namespace: ns, body: { ...cm, data: { k: '2' } } })
      .catch((e: { code: number; body: string }) => e)
    expect((err as { code: number }).code).toBe(409)
    const status = JSON.parse((err as { body: string }).body) as { reason: string; details: { kind: string } }
    expect(status).toMatchObject({
      kind: 'Status',
      reason: 'Conflict',
      details: { kind: 'configmaps', name: 'a' },
    })
  })

  it('answers a selector change with 422 Invalid naming spec.selector', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('web') })
    let err: unknown
    // the controller writes status right after create; re-read on a 409 until the read is current
    for (let i = 0; i < 10; i++) {
      const d = await apps.readNamespacedDeployment({ name: 'web', namespace: ns })
      const changed = {
        ...d,
        spec: {
          ...d.spec,
          selector: { matchLabels: { app: 'other' } },
          template: { ...d.spec?.template, metadata: { labels: { app: 'other' } } },
        },
      }
      err = await apps
        .replaceNamespacedDeployment({ name: 'web', namespace: ns, body: changed as typeof d })
        .catch((e: { code: number; body: string }) => e)
      if ((err as { code: number }).code !== 409) break
    }
    expect((err as { code: number }).code).toBe(422)
    const status = JSON.parse((err as { body: string }).body) as {
      reason: string
      message: string
      details: { causes: { field: string }[] }
    }
    expect(status.reason).toBe('Invalid')
    expect(status.message).toContain('field is immutable')
    expect(status.details.causes[0].field).toBe('spec.selector')
  })

  it('watches from a resourceVersion: ADDED, MODIFIED, DELETED', async () => {
    const list = await core.listNamespacedConfigMap({ namespace: ns })
    const seen: string[] = []
    const watch = new Watch(kc)
    const req = await watch.watch(
      `/api/v1/namespaces/${ns}/configmaps`,
      { resourceVersion: list.metadata?.resourceVersion },
      (type, obj: { metadata: { name: string } }) => {
        if (obj.metadata.name === 'w') seen.push(type)
      },
      () => {},
    )
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'w' } } })
    // client-node 1.x sends application/json-patch+json by default
    await core.patchNamespacedConfigMap({
      name: 'w',
      namespace: ns,
      body: [{ op: 'add', path: '/data', value: { x: '1' } }],
    })
    await core.deleteNamespacedConfigMap({ name: 'w', namespace: ns })
    for (let i = 0; i < 50 && seen.length < 3; i++) await new Promise((r) => setTimeout(r, 50))
    req.abort()
    expect(seen).toEqual(['ADDED', 'MODIFIED', 'DELETED'])
  })

  it('a lease create race has exactly one winner', async () => {
    const body = (holder: string) => ({
      metadata: { name: 'race' },
      spec: { holderIdentity: holder, leaseDurationSeconds: 15 },
    })
    const results = await Promise.allSettled([
      coord.createNamespacedLease({ namespace: ns, body: body('a') }),
      coord.createNamespacedLease({ namespace: ns, body: body('b') }),
    ])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
    expect(loser.reason.code).toBe(409)
  })

  it('rejects requests without credentials with 401', async () => {
    const res = await fetch(`${sb.apiUrl}/api/v1/namespaces`, { dispatcher: undefined }).catch(
      (e: Error) => e,
    )
    // Node's fetch does not trust the sandbox CA: the TLS handshake fails before any data.
    expect(res).toBeInstanceOf(Error)
    const { request } = await import('node:https')
    const status = await new Promise<number>((resolve) => {
      request(`${sb.apiUrl}/api/v1/namespaces`, { rejectUnauthorized: false }, (r) =>
        resolve(r.statusCode ?? 0),
      ).end()
    })
    expect(status).toBe(401)
  })
})
