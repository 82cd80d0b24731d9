import { execFile } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pushSampleApp } from '../helpers/images.js'
import { waitFor } from '../helpers/ports.js'
import { repoRoot, startSandbox, type TestSandbox } from '../helpers/sandbox.js'

const run = promisify(execFile)
const k120 = join(repoRoot, '.tmp', 'kubectl-1.20', 'usr', 'bin', 'kubectl')

// The seed walk-through with the second independent client, Debian's kubectl 1.20
// (`scripts/system-deps.sh test` unpacks it). Its plain `apply` validates against /openapi/v2,
// older than what kubectl 1.32 asks for, so this is not a repeat of the 1.32 file.
describe('kubectl 1.20 against the sandbox', () => {
  let sb: TestSandbox
  let manifest: string
  const kubectl = async (...args: string[]) =>
    (await run(k120, args, { env: sb.env, timeout: 90_000 })).stdout

  beforeAll(async () => {
    expect(existsSync(k120), `${k120} is missing: run scripts/system-deps.sh test`).toBe(true)
    sb = await startSandbox({ nodes: 2 })
    const v1 = await pushSampleApp(sb, '1.0')
    manifest = join(sb.home, 'seed.yaml')
    writeFileSync(
      manifest,
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
  labels: {app: kubeapp}
spec:
  replicas: 3
  selector:
    matchLabels: {app: kubeapp}
  template:
    metadata:
      labels: {app: kubeapp}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: kubeapp
        image: ${v1}
        ports:
        - containerPort: 8080
        env:
        - {name: DRAIN_SECONDS, value: "0"}
        - {name: READY_AFTER_S, value: "1.5"}
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

  it('plain apply -f creates the seed objects (validation through /openapi/v2)', async () => {
    const out = await kubectl('apply', '-f', manifest)
    expect(out).toContain('namespace/production created')
    expect(out).toContain('deployment.apps/kubeapp created')
    expect(out).toContain('service/app-lb created')
    // before any pod is Ready (READY_AFTER_S) the Endpoints hold no ready address
    const early = await kubectl(
      'get',
      'endpoints',
      'app-lb',
      '-n',
      'production',
      '-o',
      'jsonpath={.subsets[*].addresses[*].ip}',
    ).catch(() => '')
    expect(early.trim()).toBe('')
    expect(await kubectl('apply', '-f', manifest)).toContain('deployment.apps/kubeapp unchanged')
  })

  it('rollout status waits for the rollout and reports success', async () => {
    const out = await kubectl('rollout', 'status', 'deploy/kubeapp', '-n', 'production', '--timeout=60s')
    expect(out).toContain('deployment "kubeapp" successfully rolled out')
  })

  it('get pods -o wide shows 3 Running pods with IP and NODE', async () => {
    const out = await kubectl('get', 'pods', '-n', 'production', '-o', 'wide')
    const [header, ...rows] = out.trim().split('\n')
    expect(header).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\b/)
    expect(rows).toHaveLength(3)
    for (const r of rows)
      expect(r).toMatch(/^kubeapp-\S+\s+1\/1\s+Running\s+0\s+\S+\s+127\.\d+\.\d+\.\d+\s+pi-[12]\s/)
  })

  it('get endpoints lists the 3 Ready pods', async () => {
    const out = await kubectl('get', 'endpoints', 'app-lb', '-n', 'production')
    const row = out.trim().split('\n')[1] ?? ''
    const m = /^app-lb\s+(\S+)\s/.exec(row)
    expect(m, out).not.toBeNull()
    const addrs = (m?.[1] ?? '').split(',')
    expect(addrs).toHaveLength(3)
    for (const a of addrs) expect(a).toMatch(/^127\.\d+\.\d+\.\d+:\d+$/)
    const ips = await kubectl('get', 'pods', '-n', 'production', '-o', 'jsonpath={.items[*].status.podIP}')
    expect(addrs.map((a) => a.split(':')[0]).sort()).toEqual(ips.trim().split(' ').sort())
  })

  it('logs shows the container output', async () => {
    expect(await kubectl('logs', 'deploy/kubeapp', '-n', 'production')).toContain('kubeapp 1.0 listening')
  })

  it('delete -f removes the objects and the pods go away', async () => {
    const out = await kubectl('delete', '-f', manifest)
    expect(out).toContain('deployment.apps "kubeapp" deleted')
    expect(out).toContain('service "app-lb" deleted')
    expect(out).toContain('namespace "production" deleted')
    await waitFor(
      'namespace gone',
      async () => {
        const r = await run(k120, ['get', 'namespace', 'production'], { env: sb.env }).catch(
          (e: { stderr: string }) => e,
        )
        return 'stderr' in r && /NotFound/.test(r.stderr) ? true : undefined
      },
      30_000,
      300,
    )
    const pods = await kubectl('get', 'pods', '-A', '-o', 'name')
    expect(pods.trim()).toBe('')
  })
})
