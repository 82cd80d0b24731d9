import { execFile } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { summarize } from '../../src/verify/report.js'
import { runRequests } from '../../src/verify/traffic.js'
import { runCli } from '../helpers/cli.js'
import { pushSampleApp } from '../helpers/images.js'
import { waitFor } from '../helpers/ports.js'
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js'

const run = promisify(execFile)

interface PodJson {
  metadata: { name: string; labels?: Record<string, string> }
  spec: { nodeName?: string }
  status: {
    phase: string
    conditions?: { type: string; status: string }[]
    containerStatuses?: {
      restartCount: number
      state: Record<string, { reason?: string; message?: string; exitCode?: number }>
      lastState?: Record<string, { reason?: string; message?: string; exitCode?: number }>
    }[]
  }
}

// Real pods, real traffic, real failures — each shows what kubectl would show on a Pi.
describe('sandbox workloads, traffic and failures', () => {
  let sb: TestSandbox
  let v1: string
  let v2: string
  let amd64: string
  const kubectl = async (...args: string[]) =>
    (await run('kubectl', args, { env: sb.env, timeout: 60_000 })).stdout
  const pods = async (selector: string): Promise<PodJson[]> =>
    (
      JSON.parse(await kubectl('get', 'pods', '-n', 'w', '-l', selector, '-o', 'json')) as {
        items: PodJson[]
      }
    ).items

  const deploy = (
    name: string,
    image: string,
    replicas: number,
    extra: { env?: Record<string, string>; memory?: string; readiness?: string; version?: string } = {},
  ) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: w}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${extra.version ? 'split' : name}, name: ${name}}}
  template:
    metadata: {labels: {app: ${extra.version ? 'split' : name}, name: ${name}}}
    spec:
      terminationGracePeriodSeconds: 3
      containers:
      - name: app
        image: ${image}
        ports: [{containerPort: 8080, name: http}]
        env: [${Object.entries({ DRAIN_SECONDS: '0', ...(extra.env ?? {}) })
          .map(([k, v]) => `{name: ${k}, value: "${v}"}`)
          .join(', ')}]
        readinessProbe: {httpGet: {path: ${extra.readiness ?? '/health'}, port: http}, periodSeconds: 1, failureThreshold: 1}
${extra.memory ? `        resources: {limits: {memory: ${extra.memory}}}\n` : ''}`

  const apply = async (yaml: string) => {
    const f = join(sb.home, `m-${Math.random().toString(36).slice(2)}.yaml`)
    writeFileSync(f, yaml)
    await kubectl('apply', '-f', f)
  }

  beforeAll(async () => {
    sb = await startSandbox({ nodes: 4, backoffBaseMs: 500, nodeGraceMs: 2000 })
    v1 = await pushSampleApp(sb, '1.0')
    v2 = await pushSampleApp(sb, '2.0')
    amd64 = await pushSampleApp(sb, '9.9-amd64', ['linux/amd64'])
    await apply('apiVersion: v1\nkind: Namespace\nmetadata: {name: w}\n')
  })
  afterAll(async () => sb?.stop())

  it('splits fresh connections 3:1 across stable and canary pods like kube-proxy (2000 requests)', async () => {
    await apply(deploy('split-stable', v1, 3, { version: '1.0' }))
    await apply(deploy('split-canary', v2, 1, { version: '2.0' }))
    await apply(`apiVersion: v1
kind: Service
metadata: {name: split, namespace: w}
spec: {type: LoadBalancer, selector: {app: split}, ports: [{port: 80, targetPort: http}]}
`)
    await waitFor(
      '4 endpoints',
      async () =>
        (await kubectl('get', 'ep', 'split', '-n', 'w', '-o', 'jsonpath={.subsets[*].addresses[*].ip}'))
          .trim()
          .split(' ').length === 4
          ? true
          : undefined,
      60_000,
      200,
    )
    const addr = await kubectl(
      'get',
      'svc',
      'split',
      '-n',
      'w',
      '-o',
      'jsonpath={.status.loadBalancer.ingress[0].ip}:{.status.loadBalancer.ingress[0].ports[0].port}',
    )
    const report = summarize(
      await runRequests({ url: `http://${addr}/version`, requests: 2000, rate: 1000, concurrency: 32 }),
    )
    const share = report.versions['2.0']?.share ?? 0
    expect(report.errorCount).toBe(0)
    expect(share).toBeGreaterThanOrEqual(22)
    expect(share).toBeLessThanOrEqual(28)
  })

  it('a missing image shows ErrImagePull, then ImagePullBackOff', async () => {
    await apply(deploy('missing', `${sb.registry}/kubeapp:does-not-exist`, 1))
    const reasons = new Set<string>()
    await waitFor(
      'ImagePullBackOff',
      async () => {
        for (const p of await pods('name=missing')) {
          const r = p.status.containerStatuses?.[0]?.state.waiting?.reason
          if (r) reasons.add(r)
        }
        return reasons.has('ImagePullBackOff') ? true : undefined
      },
      30_000,
      100,
    )
    expect(reasons.has('ErrImagePull')).toBe(true)
    expect(await kubectl('get', 'pods', '-n', 'w', '-l', 'name=missing', '--no-headers')).toMatch(
      /0\/1\s+(ImagePullBackOff|ErrImagePull)/,
    )
  })

  it('a crashing container restarts with CrashLoopBackOff and growing back-off', async () => {
    await apply(deploy('crash', v1, 1, { env: { CRASH_AFTER_S: '0.3' } }))
    const p = await waitFor(
      'CrashLoopBackOff',
      async () => {
        const [x] = await pods('name=crash')
        return x?.status.containerStatuses?.[0]?.state.waiting?.reason === 'CrashLoopBackOff' ? x : undefined
      },
      45_000,
      100,
    )
    const cs = p.status.containerStatuses?.[0]
    expect(cs?.state.waiting?.message).toMatch(/^back-off \d+s restarting failed container=app pod=crash-/)
    expect(cs?.restartCount).toBeGreaterThanOrEqual(1)
    expect(cs?.lastState?.terminated).toMatchObject({ reason: 'Error', exitCode: 1 })
  })

  it('an amd64-only image on arm64 nodes fails with exec format error, then CrashLoopBackOff, as on a Pi', async () => {
    await apply(deploy('wrongarch', amd64, 1))
    // the container starts, exits with `exec format error` (terminated, reason Error, the
    // message naming it), and the kubelet backs off: CrashLoopBackOff (k8s-behaviour.md §3)
    const p = await waitFor(
      'CrashLoopBackOff after exec format error',
      async () => {
        const [x] = await pods('name=wrongarch')
        const cs = x?.status.containerStatuses?.[0]
        return cs?.state.waiting?.reason === 'CrashLoopBackOff' && cs.lastState?.terminated ? x : undefined
      },
      30_000,
      100,
    )
    const cs = p.status.containerStatuses?.[0]
    expect(cs?.lastState?.terminated).toMatchObject({ reason: 'Error', exitCode: 1 })
    expect(cs?.lastState?.terminated?.message).toContain('exec format error')
    expect(cs?.restartCount).toBeGreaterThanOrEqual(1)
    expect(p.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False')
    expect(await kubectl('get', 'pods', '-n', 'w', '-l', 'name=wrongarch', '--no-headers')).toMatch(
      /0\/1\s+CrashLoopBackOff\s/,
    )
    expect(await kubectl('logs', '-n', 'w', p.metadata.name, '--previous')).toContain(
      'exec /app: exec format error',
    )
  })

  it('readiness that never passes keeps the pod out of the Endpoints', async () => {
    await apply(deploy('neverready', v1, 1, { env: { HEALTH_STATUS: '500' } }))
    await apply(`apiVersion: v1
kind: Service
metadata: {name: neverready, namespace: w}
spec: {selector: {app: neverready}, ports: [{port: 80, targetPort: http}]}
`)
    const p = await waitFor(
      'running',
      async () => {
        const [x] = await pods('name=neverready')
        return x?.status.phase === 'Running' ? x : undefined
      },
      30_000,
      100,
    )
    await new Promise((r) => setTimeout(r, 2500))
    const [again] = await pods('name=neverready')
    expect(again.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False')
    expect(
      await kubectl('get', 'ep', 'neverready', '-n', 'w', '-o', 'jsonpath={.subsets[*].addresses}'),
    ).toBe('')
    expect(
      await kubectl(
        'get',
        'ep',
        'neverready',
        '-n',
        'w',
        '-o',
        'jsonpath={.subsets[*].notReadyAddresses[*].targetRef.name}',
      ),
    ).toBe(p.metadata.name)
    expect(await kubectl('get', 'events', '-n', 'w')).toContain(
      'Readiness probe failed: HTTP probe failed with statuscode: 500',
    )
  })

  it('a pod over its memory limit is OOMKilled (exit 137)', async () => {
    await apply(deploy('oom', v1, 1, { env: { ALLOC_MB: '96' }, memory: '48Mi' }))
    const p = await waitFor(
      'OOMKilled',
      async () => {
        const [x] = await pods('name=oom')
        const cs = x?.status.containerStatuses?.[0]
        const t = cs?.state.terminated ?? cs?.lastState?.terminated
        return t?.reason === 'OOMKilled' ? t : undefined
      },
      45_000,
      100,
    )
    expect(p).toMatchObject({ reason: 'OOMKilled', exitCode: 137 })
  })

  it('a stopped node goes NotReady and its pods are recreated elsewhere', async () => {
    const before = await pods('name=split-stable')
    const node = before[0].spec.nodeName ?? ''
    const r = await runCli(['sandbox', 'fault', 'node-stop', node], { env: sb.env })
    expect(r.status, r.stderr).toBe(0)
    await waitFor(
      'NotReady',
      async () =>
        (await kubectl('get', 'node', node, '--no-headers')).includes('NotReady') ? true : undefined,
      30_000,
      200,
    )
    await waitFor(
      'pods rescheduled',
      async () => {
        const now = await pods('name=split-stable')
        const ready = now.filter(
          (p) =>
            p.spec.nodeName !== node &&
            p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        )
        return ready.length === 3 && now.every((p) => p.spec.nodeName !== node) ? true : undefined
      },
      45_000,
      200,
    )
    expect((await runCli(['sandbox', 'fault', 'node-start', node], { env: sb.env })).status).toBe(0)
    await waitFor(
      'Ready again',
      async () => (/\sReady\s/.test(await kubectl('get', 'node', node, '--no-headers')) ? true : undefined),
      30_000,
      200,
    )
  })

  it('leaves no pod process behind when the sandbox stops', async () => {
    const pids: number[] = await run('pgrep', ['-f', join(sb.home, 'sandbox', 'images')])
      .then((r) => r.stdout.trim().split('\n').filter(Boolean).map(Number))
      .catch(() => [])
    expect(pids.length).toBeGreaterThan(0)
    await sb.stop()
    await waitFor(
      'no pod processes',
      async () => (pids.every((pid) => !existsSync(`/proc/${pid}`)) ? true : undefined),
      20_000,
      100,
    )
  })
})
