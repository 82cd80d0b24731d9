import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { Agent as HttpAgent, get as httpGet } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sandboxCredentials, watchApi } from '../helpers/api-watch.js'
import { runCli } from '../helpers/cli.js'
import { pushSampleApp } from '../helpers/images.js'
import { podProcesses, processState } from '../helpers/pod-processes.js'
import { waitFor } from '../helpers/ports.js'
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js'

const run = promisify(execFile)
// the versioned binary behind /usr/bin/kubectl's dispatcher, which would spend an injected
// fault on its own `GET /version`
const kubectl132 = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32'

interface Condition {
  type: string
  status: string
  reason?: string
  message?: string
}
interface PodJson {
  metadata: { name: string; uid: string; labels?: Record<string, string>; resourceVersion?: string }
  spec: { nodeName?: string }
  status: {
    phase?: string
    podIP?: string
    conditions?: Condition[]
    containerStatuses?: {
      restartCount: number
      state: Record<string, { reason?: string; exitCode?: number }>
      lastState?: Record<string, { reason?: string; exitCode?: number }>
    }[]
  }
}
interface EventJson {
  reason: string
  message: string
  involvedObject: { name: string }
}

// Kubernetes semantics the sandbox must match, each from the Kubernetes documentation (see
// shared/docs/k8s-behaviour.md): kube-proxy connection handling, Deployment strategies and
// conditions, probes, termination, readiness gates, watch expiry, and API faults as clients see them.
describe('sandbox semantics', () => {
  let sb: TestSandbox
  let v1: string
  let v2: string
  let ca: string
  let token: string
  const ns = 'sem'
  const https = new HttpsAgent({ keepAlive: true, maxSockets: 16 })

  const kubectl = async (...args: string[]) =>
    (await run('kubectl', args, { env: sb.env, timeout: 60_000 })).stdout
  const apply = async (yaml: string) => {
    const f = join(sb.home, `m-${Math.random().toString(36).slice(2)}.yaml`)
    writeFileSync(f, yaml)
    await kubectl('apply', '-f', f)
  }
  const pod = async (name: string): Promise<PodJson> =>
    JSON.parse(await kubectl('get', 'pod', name, '-n', ns, '-o', 'json')) as PodJson
  const podsOf = async (selector: string): Promise<PodJson[]> =>
    (JSON.parse(await kubectl('get', 'pods', '-n', ns, '-l', selector, '-o', 'json')) as { items: PodJson[] })
      .items
  const events = async (): Promise<EventJson[]> =>
    (JSON.parse(await kubectl('get', 'events', '-n', ns, '-o', 'json')) as { items: EventJson[] }).items
  const condition = (p: PodJson, type: string) => p.status.conditions?.find((c) => c.type === type)?.status
  const lbAddress = async (svc: string) =>
    waitFor('LoadBalancer address', async () => {
      const a = await kubectl(
        'get',
        'svc',
        svc,
        '-n',
        ns,
        '-o',
        'jsonpath={.status.loadBalancer.ingress[0].ip}:{.status.loadBalancer.ingress[0].ports[0].port}',
      )
      return /^[\d.]+:\d+$/.test(a) ? a : undefined
    })
  const readyAddresses = async (svc: string) =>
    (await kubectl('get', 'ep', svc, '-n', ns, '-o', 'jsonpath={.subsets[*].addresses[*].ip}'))
      .trim()
      .split(' ')
      .filter(Boolean)

  /** One request to the sandbox API with its CA and token; the whole body as text. */
  const api = (method: string, path: string, body?: string, type = 'application/json') =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest(
        `${sb.apiUrl}${path}`,
        {
          method,
          ca,
          agent: https,
          headers: { authorization: `Bearer ${token}`, accept: 'application/json', 'content-type': type },
          timeout: 20_000,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
          )
        },
      )
      req.on('error', reject)
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)))
      req.end(body)
    })

  /** A watch over HTTP: the events seen so far, in order, until `stop()`. */
  const watchPods = (selector: string, resourceVersion: string) => {
    const seen: { type: string; object: PodJson }[] = []
    const w = watchApi<{ type: string; object: PodJson }>(
      sb.kubeconfig,
      `/api/v1/namespaces/${ns}/pods?watch=true&labelSelector=${encodeURIComponent(selector)}&resourceVersion=${resourceVersion}`,
      (ev) => seen.push(ev),
    )
    return { seen, stop: w.stop }
  }

  const deployment = (
    name: string,
    image: string,
    o: {
      replicas?: number
      labels?: Record<string, string>
      env?: Record<string, string>
      readiness?: boolean
      liveness?: boolean
      strategy?: string
      extraSpec?: string
    } = {},
  ) => {
    const labels = JSON.stringify({ name, ...(o.labels ?? {}) })
    const env = Object.entries({ DRAIN_SECONDS: '0', ...(o.env ?? {}) })
      .map(([k, v]) => `{name: ${k}, value: "${v}"}`)
      .join(', ')
    return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ${ns}}
spec:
  replicas: ${o.replicas ?? 1}
${o.strategy ? `  strategy: {type: ${o.strategy}}\n` : ''}${o.extraSpec ?? ''}  selector: {matchLabels: ${labels}}
  template:
    metadata: {labels: ${labels}}
    spec:
      terminationGracePeriodSeconds: 3
      containers:
      - name: app
        image: ${image}
        ports: [{containerPort: 8080, name: http}]
        env: [${env}]
${o.readiness === false ? '' : '        readinessProbe: {httpGet: {path: /health, port: http}, periodSeconds: 1, failureThreshold: 1}\n'}${o.liveness ? '        livenessProbe: {httpGet: {path: /health, port: http}, initialDelaySeconds: 1, periodSeconds: 1, failureThreshold: 1}\n' : ''}`
  }

  beforeAll(async () => {
    sb = await startSandbox({ nodes: 2, backoffBaseMs: 500 })
    const creds = sandboxCredentials(sb.kubeconfig)
    ca = creds.ca.toString()
    token = creds.token
    v1 = await pushSampleApp(sb, '1.0')
    v2 = await pushSampleApp(sb, '2.0')
    await apply(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}}\n`)
  })
  afterAll(async () => {
    https.destroy()
    await sb?.stop()
  })

  it('a keep-alive connection through a LoadBalancer stays on its pod; fresh connections spread', async () => {
    await apply(deployment('ka-1', v1, { labels: { app: 'ka' } }))
    await apply(deployment('ka-2', v2, { labels: { app: 'ka' } }))
    await apply(`apiVersion: v1
kind: Service
metadata: {name: ka, namespace: ${ns}}
spec: {type: LoadBalancer, selector: {app: ka}, ports: [{port: 80, targetPort: http}]}
`)
    await waitFor('2 ready endpoints', async () =>
      (await readyAddresses('ka')).length === 2 ? true : undefined,
    )
    const addr = await lbAddress('ka')
    const fetchVersion = (agent: HttpAgent | false) =>
      new Promise<{ version: string; reused: boolean }>((resolve, reject) => {
        const req = httpGet(`http://${addr}/version`, { agent }, (res) => {
          let body = ''
          res.on('data', (c: Buffer) => {
            body += c.toString()
          })
          res.on('end', () => resolve({ version: body.trim(), reused: req.reusedSocket }))
        })
        req.on('error', reject)
      })

    const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 1 })
    const onOne: { version: string; reused: boolean }[] = []
    for (let i = 0; i < 30; i++) onOne.push(await fetchVersion(keepAlive))
    keepAlive.destroy()
    expect(onOne.slice(1).every((r) => r.reused)).toBe(true) // really one connection
    expect(new Set(onOne.map((r) => r.version)).size).toBe(1)

    const fresh: string[] = []
    for (let i = 0; i < 40; i++) fresh.push((await fetchVersion(false)).version)
    // uniform choice per connection: all 40 on one of 2 pods has probability 2^-39
    expect(new Set(fresh)).toEqual(new Set(['1.0', '2.0']))
  })

  it('a LoadBalancer with no Ready endpoint refuses or resets connections', async () => {
    await apply(deployment('noready', v1, { env: { HEALTH_STATUS: '500' } }))
    await apply(`apiVersion: v1
kind: Service
metadata: {name: noready, namespace: ${ns}}
spec: {type: LoadBalancer, selector: {name: noready}, ports: [{port: 80, targetPort: http}]}
`)
    // the pod runs and answers, but is not Ready: it is a notReadyAddress only
    await waitFor('a not-ready address', async () =>
      (
        await kubectl(
          'get',
          'ep',
          'noready',
          '-n',
          ns,
          '-o',
          'jsonpath={.subsets[*].notReadyAddresses[*].ip}',
        )
      ).trim()
        ? true
        : undefined,
    )
    expect(await readyAddresses('noready')).toEqual([])
    const addr = await lbAddress('noready')
    for (let i = 0; i < 3; i++) {
      const outcome = await new Promise<string>((resolve) => {
        const req = httpGet(`http://${addr}/version`, { agent: false }, (res) => {
          res.resume()
          resolve(`HTTP ${res.statusCode}`)
        })
        req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message))
      })
      expect(['ECONNRESET', 'ECONNREFUSED']).toContain(outcome)
    }
  })

  it('strategy Recreate removes every old pod before any new pod is created', async () => {
    await apply(deployment('rec', v1, { replicas: 2, strategy: 'Recreate', env: { DRAIN_SECONDS: '1' } }))
    await kubectl('rollout', 'status', 'deploy/rec', '-n', ns, '--timeout=60s')
    const list = JSON.parse(
      await api('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=name%3Drec`).then((r) => r.body),
    ) as {
      metadata: { resourceVersion: string }
      items: PodJson[]
    }
    const oldHash = list.items[0].metadata.labels?.['pod-template-hash']
    const w = watchPods('name=rec', list.metadata.resourceVersion)
    try {
      await kubectl('set', 'image', 'deploy/rec', '-n', ns, `app=${v2}`)
      await kubectl('rollout', 'status', 'deploy/rec', '-n', ns, '--timeout=60s')
    } finally {
      w.stop()
    }
    const live = new Map<string, string>() // pod name → template hash
    for (const p of list.items) live.set(p.metadata.name, p.metadata.labels?.['pod-template-hash'] ?? '')
    let newPods = 0
    for (const ev of w.seen) {
      const name = ev.object.metadata.name
      const hash = ev.object.metadata.labels?.['pod-template-hash'] ?? ''
      if (ev.type === 'DELETED') live.delete(name)
      else if (!live.has(name)) {
        if (hash !== oldHash) {
          newPods++
          // "All existing Pods are killed before new ones are created when .spec.strategy.type==Recreate"
          expect(
            [...live.values()].filter((h) => h === oldHash),
            `old pods alive when ${name} appeared`,
          ).toEqual([])
        }
        live.set(name, hash)
      }
    }
    expect(newPods).toBe(2)
  })

  it('a rollout that cannot progress gets Progressing=False ProgressDeadlineExceeded', async () => {
    await apply(
      deployment('stuck', `${sb.registry}/kubeapp:no-such-tag`, {
        extraSpec: '  progressDeadlineSeconds: 2\n',
      }),
    )
    const cond = await waitFor(
      'ProgressDeadlineExceeded',
      async () => {
        const d = JSON.parse(await kubectl('get', 'deploy', 'stuck', '-n', ns, '-o', 'json')) as {
          status: { conditions?: Condition[] }
        }
        const c = d.status.conditions?.find((x) => x.type === 'Progressing')
        return c?.reason === 'ProgressDeadlineExceeded' ? c : undefined
      },
      20_000,
      200,
    )
    expect(cond).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' })
    expect(cond.message).toMatch(/^ReplicaSet "stuck-[a-z0-9]+" has timed out progressing\.$/)
    const r = await run('kubectl', ['rollout', 'status', 'deploy/stuck', '-n', ns, '--timeout=20s'], {
      env: sb.env,
    }).catch((e: { code: number; stderr: string }) => e)
    expect('code' in r ? r.code : 0).toBe(1)
    expect('stderr' in r ? r.stderr : '').toContain('deployment "stuck" exceeded its progress deadline')
  })

  it('a failing liveness probe restarts the container (restartCount grows, Unhealthy and Killing events)', async () => {
    await apply(deployment('live', v1, { readiness: false, liveness: true, env: { HEALTH_STATUS: '500' } }))
    const p = await waitFor(
      'two liveness restarts',
      async () => {
        const [x] = await podsOf('name=live')
        return (x?.status.containerStatuses?.[0]?.restartCount ?? 0) >= 2 ? x : undefined
      },
      40_000,
      250,
    )
    const mine = (await events()).filter((e) => e.involvedObject.name === p.metadata.name)
    expect(mine.map((e) => `${e.reason}: ${e.message}`)).toEqual(
      expect.arrayContaining([
        'Unhealthy: Liveness probe failed: HTTP probe failed with statuscode: 500',
        'Killing: Container app failed liveness probe, will be restarted',
      ]),
    )
  })

  it("a liveness kill gives the container the pod's terminationGracePeriodSeconds before SIGKILL", async () => {
    // unhealthy from the start and draining 30 s on SIGTERM: only the grace period ends it
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: slowkill, namespace: ${ns}}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: app
    image: ${v1}
    ports: [{containerPort: 8080}]
    env: [{name: DRAIN_SECONDS, value: "30"}, {name: HEALTH_STATUS, value: "500"}]
    livenessProbe: {httpGet: {path: /health, port: 8080}, initialDelaySeconds: 1, periodSeconds: 1, failureThreshold: 1}
`)
    const killed = await waitFor(
      'the liveness kill',
      async () =>
        (await events()).some((e) => e.involvedObject.name === 'slowkill' && e.reason === 'Killing')
          ? Date.now()
          : undefined,
      20_000,
      100,
    )
    const restarted = await waitFor(
      'the restart',
      async () =>
        ((await pod('slowkill')).status.containerStatuses?.[0]?.restartCount ?? 0) >= 1
          ? Date.now()
          : undefined,
      20_000,
      100,
    )
    // SIGKILL comes when the 5 s grace ends (the old fixed 2 s would restart it at ~2 s)
    expect(restarted - killed).toBeGreaterThanOrEqual(4000)
    expect(restarted - killed).toBeLessThan(12_000)
  })

  it('a container that ignores SIGTERM is SIGKILLed when terminationGracePeriodSeconds ends', async () => {
    // sample-app drains DRAIN_SECONDS after SIGTERM before it exits: 30 s is "ignores SIGTERM"
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: stubborn, namespace: ${ns}}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: ${v1}
    ports: [{containerPort: 8080}]
    env: [{name: DRAIN_SECONDS, value: "30"}]
    readinessProbe: {httpGet: {path: /health, port: 8080}, periodSeconds: 1}
`)
    // Ready: the app serves, so its SIGTERM handler is installed (before that, SIGTERM kills it)
    const p = await waitFor('stubborn ready', async () => {
      const x = await pod('stubborn')
      return condition(x, 'Ready') === 'True' ? x : undefined
    })
    const proc = await waitFor('its process', () => podProcesses(sb.home).find((x) => x.pod === 'stubborn'))
    const t0 = Date.now()
    await kubectl('delete', 'pod', 'stubborn', '-n', ns, '--wait=false')
    await waitFor(
      'pod object gone',
      async () => {
        const r = await api('GET', `/api/v1/namespaces/${ns}/pods/stubborn`)
        return r.status === 404 ? true : undefined
      },
      20_000,
      100,
    )
    const took = Date.now() - t0
    expect(took).toBeGreaterThanOrEqual(1800) // SIGTERM first, and the whole grace period
    expect(took).toBeLessThan(10_000) // not the 30 s the process wanted
    expect(processState(proc.pid)).not.toBe('alive')
    const log = readFileSync(
      join(sb.home, 'sandbox', 'nodes', p.spec.nodeName ?? '', 'pods', p.metadata.uid, 'app.log'),
      'utf8',
    )
    expect(log).toContain('SIGTERM: draining for 30s')
    expect(log).not.toContain('stopped') // it never got to finish on its own
  })

  it("readiness is probed when the kubelet's relist sees the container start, not only on the probe's period", async () => {
    // kubelet: the pod sync after the PLEG relist (1 s) triggers a readiness probe at once
    // (prober_manager UpdatePodStatus); with periodSeconds 30 the first tick would be 30 s away
    await apply(`apiVersion: apps/v1
kind: Deployment
metadata: {name: relist, namespace: ${ns}}
spec:
  replicas: 1
  selector: {matchLabels: {name: relist}}
  template:
    metadata: {labels: {name: relist}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: app
        image: ${v1}
        ports: [{containerPort: 8080, name: http}]
        readinessProbe: {httpGet: {path: /health, port: http}, periodSeconds: 30}
`)
    const p = await waitFor(
      'relist pod Ready',
      async () => {
        const [x] = await podsOf('name=relist')
        return x && condition(x, 'Ready') === 'True' ? x : undefined
      },
      15_000,
      200,
    )
    const started = (p.status.containerStatuses?.[0]?.state.running as { startedAt?: string } | undefined)
      ?.startedAt
    const ready = p.status.conditions?.find((c) => c.type === 'Ready') as { lastTransitionTime?: string }
    const ms = Date.parse(ready.lastTransitionTime ?? '') - Date.parse(started ?? '')
    expect(ms).toBeGreaterThanOrEqual(0)
    expect(ms).toBeLessThanOrEqual(3000)
    await kubectl('delete', 'deployment', 'relist', '-n', ns, '--wait=false')
  })

  it('IfNotPresent starts a pod from the image its node has without the registry; Always pulls', async () => {
    const podOn = (name: string, policy: string) =>
      apply(`apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}}
spec:
  nodeName: pi-1
  terminationGracePeriodSeconds: 0
  containers:
  - name: app
    image: ${v2}
    imagePullPolicy: ${policy}
    env: [{name: DRAIN_SECONDS, value: "0"}]
`)
    const fault = (kind: string) => runCli(['sandbox', 'fault', kind], { env: sb.env })
    await podOn('has-image', 'IfNotPresent')
    await waitFor('has-image running', async () =>
      (await pod('has-image')).status.phase === 'Running' ? true : undefined,
    )
    expect((await fault('registry-down')).status).toBe(0)
    try {
      await podOn('present', 'IfNotPresent')
      await podOn('always', 'Always')
      await waitFor('present running', async () =>
        (await pod('present')).status.phase === 'Running' ? true : undefined,
      )
      const always = await waitFor('always fails to pull', async () => {
        const w = (await pod('always')).status.containerStatuses?.[0]?.state.waiting?.reason
        return w === 'ErrImagePull' || w === 'ImagePullBackOff' ? w : undefined
      })
      expect(always).toMatch(/ErrImagePull|ImagePullBackOff/)
      const mine = (await events()).filter((e) => e.involvedObject.name === 'present')
      expect(mine.map((e) => e.message)).toContain(`Container image "${v2}" already present on machine`)
      expect(mine.map((e) => e.reason)).not.toContain('Pulling')
      // Never, for an image pi-2 has never run: not pulled, named as the kubelet names it
      await apply(`apiVersion: v1
kind: Pod
metadata: {name: never, namespace: ${ns}}
spec:
  nodeName: pi-2
  terminationGracePeriodSeconds: 0
  containers:
  - name: app
    image: ${v2.replace(/@sha256:.*/, '')}-never
    imagePullPolicy: Never
`)
      const never = await waitFor(
        'never waits',
        async () => (await pod('never')).status.containerStatuses?.[0]?.state.waiting,
      )
      expect(never).toMatchObject({
        reason: 'ErrImageNeverPull',
        message: expect.stringMatching(/is not present with pull policy of Never$/),
      })
    } finally {
      await fault('registry-up')
      await kubectl(
        'delete',
        'pod',
        'has-image',
        'present',
        'always',
        'never',
        '-n',
        ns,
        '--wait=false',
        '--ignore-not-found',
      )
    }
  })

  it('probe failure events name a named port by its number, as the kubelet does', async () => {
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: named-port, namespace: ${ns}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: ${v1}
    ports: [{containerPort: 8080, name: http}, {containerPort: 9999, name: admin}]
    readinessProbe: {httpGet: {path: /health, port: admin}, periodSeconds: 1}
`)
    const e = await waitFor(
      'Unhealthy event of named-port',
      async () =>
        (await events()).find((x) => x.involvedObject.name === 'named-port' && x.reason === 'Unhealthy'),
      15_000,
      250,
    )
    expect(e.message).toMatch(/^Readiness probe failed: Get "http:\/\/[\d.]+:9999\/health": /)
    await kubectl('delete', 'pod', 'named-port', '-n', ns, '--wait=false')
  })

  it('readinessGates keep a Ready container out of Endpoints until the gate is set through pods/status', async () => {
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: gated, namespace: ${ns}, labels: {app: gated}}
spec:
  readinessGates: [{conditionType: example.com/gate}]
  containers:
  - name: app
    image: ${v1}
    ports: [{containerPort: 8080}]
    env: [{name: DRAIN_SECONDS, value: "0"}]
    readinessProbe: {httpGet: {path: /health, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: gated, namespace: ${ns}}
spec: {selector: {app: gated}, ports: [{port: 80, targetPort: 8080}]}
`)
    const before = await waitFor('containers ready', async () => {
      const x = await pod('gated')
      return condition(x, 'ContainersReady') === 'True' ? x : undefined
    })
    await new Promise((r) => setTimeout(r, 1500)) // a few probe periods: nothing may change
    const still = await pod('gated')
    expect(condition(still, 'ContainersReady')).toBe('True')
    expect(condition(still, 'Ready')).toBe('False')
    expect(still.status.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('ReadinessGatesNotReady')
    expect(await readyAddresses('gated')).toEqual([])
    expect(
      (
        await kubectl('get', 'ep', 'gated', '-n', ns, '-o', 'jsonpath={.subsets[*].notReadyAddresses[*].ip}')
      ).trim(),
    ).toBe(before.status.podIP)

    // a watch sees the gate patch, then the kubelet's Ready, in resourceVersion order
    const watch = watchPods('app=gated', still.metadata.resourceVersion ?? '0')
    await kubectl(
      'patch',
      'pod',
      'gated',
      '-n',
      ns,
      '--subresource=status',
      '--type=strategic',
      '-p',
      '{"status":{"conditions":[{"type":"example.com/gate","status":"True"}]}}',
    )
    const after = await waitFor('Ready', async () => {
      const x = await pod('gated')
      return condition(x, 'Ready') === 'True' ? x : undefined
    })
    expect(condition(after, 'ContainersReady')).toBe('True') // the patch merged by type
    expect(condition(after, 'example.com/gate')).toBe('True')
    await waitFor('endpoint', async () =>
      (await readyAddresses('gated')).includes(before.status.podIP ?? '') ? true : undefined,
    )
    await waitFor('the watch saw Ready', async () =>
      watch.seen.some((e) => condition(e.object, 'Ready') === 'True') ? true : undefined,
    )
    watch.stop()
    const rvs = watch.seen.map((e) => Number(e.object.metadata.resourceVersion))
    expect(rvs).toEqual([...rvs].sort((a, b) => a - b))
    expect(condition(watch.seen[0].object, 'Ready')).toBe('False') // the patch itself
    expect(condition(watch.seen.at(-1)?.object ?? before, 'Ready')).toBe('True')
  })

  it('a watch from a resourceVersion older than the history answers 410 Expired', async () => {
    const start = JSON.parse((await api('GET', `/api/v1/namespaces/${ns}/configmaps`)).body) as {
      metadata: { resourceVersion: string }
    }
    const from = Number(start.metadata.resourceVersion)
    // the sandbox keeps 10 000 events of history (kube-apiserver: its watch cache, then etcd
    // compaction); write more than that so `from` falls out of it
    expect(
      (await api('POST', `/api/v1/namespaces/${ns}/configmaps`, '{"metadata":{"name":"churn"}}')).status,
    ).toBe(201)
    let current = from
    for (let batch = 0; batch < 40 && current - from <= 10_100; batch++) {
      const rs = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          Promise.all(
            Array.from({ length: 20 }, (_, j) =>
              api(
                'PATCH',
                `/api/v1/namespaces/${ns}/configmaps/churn`,
                JSON.stringify({ data: { k: `${batch}-${i}-${j}` } }),
                'application/merge-patch+json',
              ),
            ),
          ),
        ),
      )
      const last = rs.flat().at(-1)
      current = Number(
        (JSON.parse(last?.body ?? '{}') as { metadata?: { resourceVersion?: string } }).metadata
          ?.resourceVersion,
      )
    }
    expect(current - from).toBeGreaterThan(10_000)
    const r = await api('GET', `/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=${from}`)
    // kube-apiserver answers 200 and then one ERROR event carrying the 410 Status (or a plain 410)
    const status =
      r.status === 410
        ? (JSON.parse(r.body) as { code: number; reason: string; message: string })
        : (
            JSON.parse(r.body.trim().split('\n')[0]) as {
              type: string
              object: { code: number; reason: string; message: string }
            }
          ).object
    if (r.status !== 410) expect(JSON.parse(r.body.trim().split('\n')[0])).toMatchObject({ type: 'ERROR' })
    expect(status).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' })
    expect(status.message).toMatch(new RegExp(`^too old resource version: ${from} \\(\\d+\\)$`))
  })

  it('API faults reach kubectl and client-node as 500 and 429', async () => {
    const fault = async (status: string) => {
      const r = await runCli(['sandbox', 'fault', 'api-error', '--status', status, '--count', '1'], {
        env: sb.env,
      })
      expect(r.status, r.stderr).toBe(0)
    }
    await run(kubectl132, ['get', 'ns', ns], { env: sb.env }) // discovery cached before the faults

    await fault('500')
    const e500 = await run(kubectl132, ['get', 'ns', ns, '-o', 'name'], { env: sb.env }).catch(
      (e: { code: number; stderr: string }) => e,
    )
    expect('code' in e500 ? e500.code : 0).toBe(1)
    expect('stderr' in e500 ? e500.stderr : '').toContain(
      'Error from server (InternalError): Internal error occurred: injected fault (sandbox)',
    )

    // client-go waits Retry-After and retries a 429, as against kube-apiserver
    await fault('429')
    const ok429 = await run(kubectl132, ['get', 'ns', ns, '-o', 'name', '-v=6'], { env: sb.env })
    expect(ok429.stderr).toMatch(/GET https:\S+\/api\/v1\/namespaces\/sem 429 Too Many Requests/)
    expect(ok429.stdout.trim()).toBe(`namespace/${ns}`)

    const kc = new KubeConfig()
    kc.loadFromFile(sb.kubeconfig)
    const core = kc.makeApiClient(CoreV1Api)
    for (const [status, reason] of [
      ['500', 'InternalError'],
      ['429', 'TooManyRequests'],
    ] as const) {
      await fault(status)
      const err = await core.readNamespace({ name: ns }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ApiException)
      const ex = err as ApiException<string>
      expect(ex.code).toBe(Number(status))
      expect(JSON.parse(ex.body)).toMatchObject({ kind: 'Status', code: Number(status), reason })
    }
    expect((await core.readNamespace({ name: ns })).metadata?.name).toBe(ns) // the fault is spent
  })
})
