import { execFile } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pushSampleApp } from '../helpers/images.js'
import { waitFor } from '../helpers/ports.js'
import { repoRoot, startSandbox, type TestSandbox } from '../helpers/sandbox.js'

const run = promisify(execFile)

// The seed walk-through, done with a user's own kubectl against the sandbox: plain apply (no
// --validate=false), rollout status, the usual get columns, endpoints only for Ready pods,
// scale, set image as a rolling update, logs, events, delete.
describe('kubectl 1.32 against the sandbox', () => {
  let sb: TestSandbox
  let v1: string
  let v2: string
  const kubectl = async (...args: string[]) =>
    (await run('kubectl', args, { env: sb.env, timeout: 90_000 })).stdout

  beforeAll(async () => {
    sb = await startSandbox({ nodes: 4 })
    v1 = await pushSampleApp(sb, '1.0')
    v2 = await pushSampleApp(sb, '2.0')
    writeFileSync(
      join(sb.home, 'app.yaml'),
      `apiVersion: v1
kind: Namespace
metadata:
  name: production
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: kubeapp
  namespace: production
  labels: {app: kubeapp, env: production}
spec:
  replicas: 3
  selector:
    matchLabels: {app: kubeapp, env: production}
  template:
    metadata:
      labels: {app: kubeapp, env: production}
    spec:
      containers:
      - name: kubeapp
        image: ${v1}
        ports:
        - containerPort: 8080
        readinessProbe:
          httpGet: {path: /health, port: 8080}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: app-lb
  namespace: production
spec:
  type: LoadBalancer
  selector: {app: kubeapp}
  ports:
  - port: 80
    targetPort: 8080
`,
    )
  })
  afterAll(async () => sb?.stop())

  it('applies the seed manifests and rolls out', async () => {
    const out = await kubectl('apply', '-f', join(sb.home, 'app.yaml'))
    expect(out).toContain('deployment.apps/kubeapp created')
    expect(await kubectl('apply', '-f', join(sb.home, 'app.yaml'))).toContain(
      'deployment.apps/kubeapp unchanged',
    )
    const status = await kubectl('rollout', 'status', 'deploy/kubeapp', '-n', 'production', '--timeout=60s')
    expect(status).toContain('deployment "kubeapp" successfully rolled out')
  })

  it('shows 3 Running pods with IP and NODE, and 3 endpoints', async () => {
    const pods = await kubectl('get', 'pods', '-n', 'production', '-o', 'wide', '--no-headers')
    const rows = pods.trim().split('\n')
    expect(rows).toHaveLength(3)
    for (const r of rows) expect(r).toMatch(/1\/1\s+Running\s+0\s+\S+\s+127\.\d+\.\d+\.\d+\s+pi-\d/)
    const ep = await kubectl(
      'get',
      'endpoints',
      'app-lb',
      '-n',
      'production',
      '-o',
      'jsonpath={.subsets[*].addresses[*].ip}',
    )
    expect(ep.trim().split(' ')).toHaveLength(3)
    const deploy = await kubectl('get', 'deploy', 'kubeapp', '-n', 'production', '--no-headers')
    expect(deploy).toMatch(/^kubeapp\s+3\/3\s+3\s+3\s/)
    const svc = await kubectl('get', 'svc', 'app-lb', '-n', 'production', '--no-headers')
    expect(svc).toMatch(/^app-lb\s+LoadBalancer\s+\S+\s+127\.0\.0\.1\s+80:\d+\/TCP/)
  })

  it('serves the app through the LoadBalancer address', async () => {
    const ip = await kubectl(
      'get',
      'svc',
      'app-lb',
      '-n',
      'production',
      '-o',
      'jsonpath={.status.loadBalancer.ingress[0].ip}:{.status.loadBalancer.ingress[0].ports[0].port}',
    )
    const res = await fetch(`http://${ip}/version`)
    expect(await res.text()).toBe('1.0\n')
  })

  it('scales to 5 through the scale subresource', async () => {
    expect(await kubectl('scale', 'deploy/kubeapp', '-n', 'production', '--replicas=5')).toContain('scaled')
    await kubectl('rollout', 'status', 'deploy/kubeapp', '-n', 'production', '--timeout=60s')
    expect(
      await kubectl('get', 'deploy', 'kubeapp', '-n', 'production', '-o', 'jsonpath={.status.readyReplicas}'),
    ).toBe('5')
  })

  it('set image performs a rolling update within the configured surge', async () => {
    await kubectl(
      'patch',
      'deploy/kubeapp',
      '-n',
      'production',
      '--type',
      'merge',
      '-p',
      '{"spec":{"strategy":{"rollingUpdate":{"maxSurge":1,"maxUnavailable":0}}}}',
    )
    await kubectl('set', 'image', 'deploy/kubeapp', '-n', 'production', `kubeapp=${v2}`)
    let maxPods = 0
    const done = waitFor(
      'rollout to 2.0',
      async () => {
        const pods = JSON.parse(await kubectl('get', 'pods', '-n', 'production', '-o', 'json')) as {
          items: { metadata: { deletionTimestamp?: string } }[]
        }
        maxPods = Math.max(maxPods, pods.items.filter((p) => !p.metadata.deletionTimestamp).length)
        const d = JSON.parse(await kubectl('get', 'deploy', 'kubeapp', '-n', 'production', '-o', 'json')) as {
          status: { updatedReplicas?: number; availableReplicas?: number; replicas?: number }
        }
        return d.status.updatedReplicas === 5 && d.status.availableReplicas === 5 && d.status.replicas === 5
          ? true
          : undefined
      },
      90_000,
      200,
    )
    await done
    expect(maxPods).toBeLessThanOrEqual(6) // replicas + maxSurge, not counting terminating pods
    expect(await kubectl('rollout', 'status', 'deploy/kubeapp', '-n', 'production')).toContain(
      'successfully rolled out',
    )
    const rs = await kubectl('get', 'rs', '-n', 'production', '--no-headers')
    expect(rs.trim().split('\n')).toHaveLength(2)
    expect(
      await kubectl(
        'get',
        'deploy',
        'kubeapp',
        '-n',
        'production',
        '-o',
        'jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}',
      ),
    ).toBe('2')
  })

  it('shows logs and events', async () => {
    const logs = await kubectl('logs', 'deploy/kubeapp', '-n', 'production')
    expect(logs).toContain('kubeapp 2.0 listening')
    const events = await kubectl('get', 'events', '-n', 'production')
    expect(events).toMatch(/ScalingReplicaSet/)
    expect(events).toMatch(/Scheduled/)
    expect(events).toMatch(/Started/)
  })

  it('refuses a selector change with 422 field is immutable', async () => {
    const err = await run(
      'kubectl',
      [
        'patch',
        'deploy/kubeapp',
        '-n',
        'production',
        '--type',
        'merge',
        '-p',
        '{"spec":{"selector":{"matchLabels":{"app":"other"}},"template":{"metadata":{"labels":{"app":"other"}}}}}',
      ],
      { env: sb.env },
    ).catch((e: { stderr: string }) => e)
    expect((err as { stderr: string }).stderr).toContain('field is immutable')
  })

  it('patch --type json applies only while its test op holds, else 422 and nothing changes', async () => {
    const patch = (ops: object[]) =>
      run(
        'kubectl',
        ['patch', 'deploy/kubeapp', '-n', 'production', '--type', 'json', '-p', JSON.stringify(ops)],
        {
          env: sb.env,
        },
      )
    const mark = '/metadata/annotations/conformance.edgecanary.dev~1mark'
    await patch([{ op: 'add', path: mark, value: 'one' }])
    const refused = await patch([
      { op: 'test', path: mark, value: 'other' },
      { op: 'add', path: '/spec/replicas', value: 1 },
    ]).catch((e: { stderr: string; code: number }) => e)
    expect(refused).toMatchObject({ code: 1 })
    expect((refused as { stderr: string }).stderr).toContain(
      `The request is invalid: : testing value ${mark} failed: test failed`,
    )
    const get = async () =>
      JSON.parse(
        (await run('kubectl', ['get', 'deploy/kubeapp', '-n', 'production', '-o', 'json'], { env: sb.env }))
          .stdout,
      ) as {
        spec: { replicas: number }
        metadata: { annotations: Record<string, string> }
      }
    expect((await get()).spec.replicas).not.toBe(1)
    await patch([
      { op: 'test', path: mark, value: 'one' },
      { op: 'remove', path: mark },
    ])
    expect((await get()).metadata.annotations).not.toHaveProperty('conformance.edgecanary.dev/mark')
  })

  it('works with kubectl 1.20 too (Debian kubernetes-client)', async () => {
    const k120 = join(repoRoot, '.tmp', 'kubectl-1.20', 'usr', 'bin', 'kubectl')
    expect(existsSync(k120), 'scripts/system-deps.sh test unpacks kubectl 1.20 into .tmp/').toBe(true)
    const out = (await run(k120, ['get', 'deploy', '-n', 'production'], { env: sb.env })).stdout
    expect(out).toMatch(/kubeapp\s+5\/5/)
    const scaled = (
      await run(k120, ['scale', 'deploy/kubeapp', '-n', 'production', '--replicas=3'], { env: sb.env })
    ).stdout
    expect(scaled).toContain('scaled')
  })

  it('counts requests on /metrics as kube-apiserver does: apiserver_request_total{verb,resource,subresource,code}', async () => {
    const count = (text: string, want: Record<string, string>) =>
      text
        .split('\n')
        .filter((l) => l.startsWith('apiserver_request_total{'))
        .filter((l) => Object.entries(want).every(([k, v]) => l.includes(`${k}="${v}"`)))
        .reduce((n, l) => n + Number(l.split(' ').pop()), 0)
    const before = await kubectl('get', '--raw', '/metrics')
    expect(before).toContain('# TYPE apiserver_request_total counter')
    await kubectl('get', 'deployment', 'kubeapp', '-n', 'production')
    await kubectl('get', 'deployment', 'kubeapp', '-n', 'production')
    await kubectl('get', 'deployment', 'nope', '-n', 'production').catch(() => undefined)
    const pod = (
      await kubectl('get', 'pods', '-n', 'production', '-o', 'jsonpath={.items[0].metadata.name}')
    ).trim()
    await kubectl('get', '--raw', `/api/v1/namespaces/production/pods/${pod}:8080/proxy/version`)
    const after = await kubectl('get', '--raw', '/metrics')
    const delta = (want: Record<string, string>) => count(after, want) - count(before, want)
    const deployments = { resource: 'deployments', subresource: '', group: 'apps' }
    expect(delta({ ...deployments, verb: 'GET', code: '200' })).toBe(2)
    expect(delta({ ...deployments, verb: 'GET', code: '404' })).toBe(1)
    expect(delta({ resource: 'pods', verb: 'LIST', code: '200' })).toBe(1)
    expect(delta({ resource: 'pods', subresource: 'proxy', verb: 'CONNECT', code: '200' })).toBe(1)
    // authenticated like every other path
    const refused = await run('curl', [
      '-sk',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `${sb.apiUrl}/metrics`,
    ])
    expect(refused.stdout).toBe('401')
  })

  it('deletes with delete -f and the pods go away', async () => {
    await kubectl('delete', 'deploy', 'kubeapp', '-n', 'production', '--wait=false')
    await waitFor(
      'pods gone',
      async () =>
        (await kubectl('get', 'pods', '-n', 'production', '-o', 'name')).trim() === '' ? true : undefined,
      60_000,
      300,
    )
  })
})
