import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { type AddressInfo, connect } from 'node:net'
import { release, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pushBusybox } from '../helpers/busybox-image.js'
import { runCli } from '../helpers/cli.js'
import { waitFor } from '../helpers/ports.js'
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js'

const run = promisify(execFile)

// ServiceAccounts, NodeSystemInfo, DaemonSet, Job, CronJob and ReplicationController as the
// Kubernetes documentation describes them (concepts/workloads/controllers/*,
// concepts/security/service-accounts, reference/node/node-status), checked with kubectl 1.32
// and the Python client, on pods of a busybox image served through a k3s docker.io mirror.
describe('ServiceAccounts, node info, DaemonSet, Job, CronJob, RC and registry mirrors', () => {
  let sb: TestSandbox
  let home: string
  const tlsServers: TlsServer[] = []
  const kubectl = async (...args: string[]) =>
    (await run('kubectl', args, { env: sb.env, timeout: 60_000 })).stdout
  const apply = (yaml: string) => {
    const file = join(home, `m-${Math.random().toString(36).slice(2)}.yaml`)
    writeFileSync(file, yaml)
    return kubectl('apply', '-f', file)
  }
  const json = async <T>(...args: string[]) => JSON.parse(await kubectl(...args, '-o', 'json')) as T

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'ec-kinds-'))
    // TLS in front of the embedded registry, with a self-signed certificate for 127.0.0.1: one
    // port trusted through ca_file, one with insecure_skip_verify, one with no tls config
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(home, 'tls.key'),
      '-out',
      join(home, 'tls.crt'),
    ])
    const tlsOpts = { key: readFileSync(join(home, 'tls.key')), cert: readFileSync(join(home, 'tls.crt')) }
    const ports: number[] = []
    for (let i = 0; i < 3; i++) {
      const server = createTlsServer(tlsOpts, (socket) => {
        const [host, port] = sb.registry.split(':')
        const up = connect(Number(port), host)
        socket.on('error', () => up.destroy())
        up.on('error', () => socket.destroy())
        socket.pipe(up).pipe(socket)
      })
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      tlsServers.push(server)
      ports.push((server.address() as AddressInfo).port)
    }
    const [trusted, skipVerify, untrusted] = ports.map((p) => `127.0.0.1:${p}`)
    // $EDGECANARY_HOME/registries.yaml, read at start as k3s reads /etc/rancher/k3s/registries.yaml:
    // Docker Hub (no endpoint: the embedded registry), a private name rewritten onto it, and TLS mirrors
    writeFileSync(
      join(home, 'registries.yaml'),
      `mirrors:
  docker.io: {}
  registry.example.org:
    rewrite:
      "^team/(.*)": "library/$1"
  trusted.example.org:
    endpoint: ["https://${trusted}"]
  skipverify.example.org:
    endpoint: ["https://${skipVerify}"]
  untrusted.example.org:
    endpoint: ["https://${untrusted}"]
configs:
  "${trusted}":
    tls: { ca_file: ${join(home, 'tls.crt')} }
  "${skipVerify}":
    tls: { insecure_skip_verify: true }
`,
    )
    sb = await startSandbox({ nodes: 2, home })
    await pushBusybox(sb.registry)
  }, 120_000)

  afterAll(async () => {
    await sb?.stop()
    for (const s of tlsServers) s.close()
    rmSync(home, { recursive: true, force: true })
  })

  it('refuses a registries file that is missing or not k3s format with exit 2 before starting', async () => {
    const env = { ...sb.env, EDGECANARY_HOME: mkdtempSync(join(tmpdir(), 'ec-bad-')) }
    const missing = await runCli(['sandbox', 'up', '--registries', join(home, 'nope.yaml')], { env })
    expect(missing.status).toBe(2)
    expect(missing.stderr).toContain('no such file')
    const bad = join(home, 'bad.yaml')
    writeFileSync(bad, 'mirrors:\n  docker.io:\n    endpoint: "http://10.0.0.5:5000"\n')
    const wrong = await runCli(['sandbox', 'up', '--registries', bad], { env })
    expect(wrong.status).toBe(2)
    expect(wrong.stderr).toContain('mirrors.docker.io.endpoint must be a list of URLs')
    rmSync(env.EDGECANARY_HOME, { recursive: true, force: true })
  })

  it('has a default ServiceAccount in every namespace, and pods run as it', async () => {
    expect(await kubectl('get', 'serviceaccount', 'default', '-n', 'default')).toMatch(/^default\s+0\s+/m)
    await apply('apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n')
    await waitFor('default ServiceAccount in team-a', async () =>
      (await kubectl('get', 'sa', '-n', 'team-a', '-o', 'name')).includes('serviceaccount/default'),
    )
    await apply(
      'apiVersion: v1\nkind: Pod\nmetadata: {name: who, namespace: team-a}\nspec:\n  containers: [{name: c, image: busybox, args: ["/bin/sh", "-c", "echo hi"]}]\n',
    )
    const pod = await json<{ spec: { serviceAccountName: string; serviceAccount: string } }>(
      'get',
      'pod',
      'who',
      '-n',
      'team-a',
    )
    expect(pod.spec).toMatchObject({ serviceAccountName: 'default', serviceAccount: 'default' })
  })

  it('reports every NodeSystemInfo field: the host boot id and kernel, stable ids per node, the node arch', async () => {
    const nodes = await json<{
      items: { metadata: { name: string }; status: { nodeInfo: Record<string, string> } }[]
    }>('get', 'nodes')
    expect(nodes.items).toHaveLength(2)
    const bootID = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    for (const n of nodes.items) {
      const info = n.status.nodeInfo
      for (const f of [
        'machineID',
        'systemUUID',
        'bootID',
        'kernelVersion',
        'osImage',
        'containerRuntimeVersion',
        'kubeletVersion',
        'kubeProxyVersion',
        'operatingSystem',
        'architecture',
      ])
        expect(info[f], `${n.metadata.name} ${f}`).toBeTruthy()
      expect(info).toMatchObject({
        bootID,
        kernelVersion: release(),
        architecture: 'arm64',
        operatingSystem: 'linux',
      })
    }
    const ids = nodes.items.map((n) => n.status.nodeInfo.machineID)
    expect(new Set(ids).size).toBe(2)
    expect(await kubectl('get', 'nodes', '-o', 'wide')).toContain(release())
  })

  it('runs `image: busybox` from the embedded registry through the docker.io mirror, and a rewritten name', async () => {
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: bb}
spec:
  restartPolicy: Never
  containers: [{name: c, image: busybox, args: ["/bin/sh", "-c", "echo hello from busybox; uptime"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: bb-private}
spec:
  restartPolicy: Never
  containers: [{name: c, image: "registry.example.org/team/busybox:latest", command: ["/bin/echo", "rewritten"]}]
`)
    await kubectl(
      'wait',
      '--for=jsonpath={.status.phase}=Succeeded',
      'pod/bb',
      'pod/bb-private',
      '--timeout=60s',
    )
    const logs = await kubectl('logs', 'bb')
    expect(logs).toContain('hello from busybox')
    expect(logs).toMatch(/load average/)
    expect(await kubectl('logs', 'bb-private')).toBe('rewritten\n')
  })

  it('pulls from an https mirror with the ca_file or insecure_skip_verify of its configs entry, and not without', async () => {
    const pod = (name: string, image: string) =>
      `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec:\n  restartPolicy: Never\n  containers: [{name: c, image: "${image}", command: ["/bin/echo", "${name}"]}]\n---\n`
    await apply(
      pod('tls-trusted', 'trusted.example.org/library/busybox:latest') +
        pod('tls-skip', 'skipverify.example.org/library/busybox:latest') +
        pod('tls-untrusted', 'untrusted.example.org/library/busybox:latest'),
    )
    await kubectl(
      'wait',
      '--for=jsonpath={.status.phase}=Succeeded',
      'pod/tls-trusted',
      'pod/tls-skip',
      '--timeout=60s',
    )
    expect(await kubectl('logs', 'tls-trusted')).toBe('tls-trusted\n')
    const waiting = await waitFor('the untrusted pull to fail', async () => {
      const p = await json<{
        status: { containerStatuses?: { state: { waiting?: { reason: string; message?: string } } }[] }
      }>('get', 'pod', 'tls-untrusted')
      const w = p.status.containerStatuses?.[0]?.state.waiting
      return w && /ErrImagePull|ImagePullBackOff/.test(w.reason) ? w : undefined
    })
    const events = await kubectl('get', 'events', '--field-selector', 'involvedObject.name=tls-untrusted')
    expect(events).toMatch(/CERT/)
    expect(waiting.reason).toMatch(/ErrImagePull|ImagePullBackOff/)
  })

  it('DaemonSet: one pod per node, a template change rolls them, `kubectl rollout status` follows', async () => {
    await apply(`apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      # sh is the container's PID 1 and ignores SIGTERM, as in Kubernetes: no 30 s grace to wait out
      terminationGracePeriodSeconds: 1
      containers: [{name: a, image: busybox, args: ["/bin/sh", "-c", "while true; do sleep 1; done"]}]
`)
    expect(await kubectl('rollout', 'status', 'ds/agent', '--timeout=60s')).toContain(
      'daemon set "agent" successfully rolled out',
    )
    type Pods = { items: { spec: { nodeName: string }; metadata: { labels: Record<string, string> } }[] }
    const before = await json<Pods>('get', 'pods', '-l', 'app=agent')
    expect(before.items.map((p) => p.spec.nodeName).sort()).toEqual(['pi-1', 'pi-2'])
    const oldHash = before.items[0].metadata.labels['controller-revision-hash']
    await kubectl(
      'patch',
      'ds',
      'agent',
      '-p',
      '{"spec":{"template":{"metadata":{"annotations":{"rev":"2"}}}}}',
    )
    expect(await kubectl('rollout', 'status', 'ds/agent', '--timeout=60s')).toContain(
      'successfully rolled out',
    )
    const ds = await json<{ status: Record<string, number> }>('get', 'ds', 'agent')
    expect(ds.status).toMatchObject({
      desiredNumberScheduled: 2,
      currentNumberScheduled: 2,
      updatedNumberScheduled: 2,
      numberAvailable: 2,
      numberReady: 2,
    })
    const after = await waitFor('old daemon pods gone', async () => {
      const p = await json<Pods>('get', 'pods', '-l', 'app=agent')
      return p.items.length === 2 ? p : undefined
    })
    for (const p of after.items) expect(p.metadata.labels['controller-revision-hash']).not.toBe(oldHash)
    expect(await kubectl('get', 'ds', 'agent')).toMatch(/^agent\s+2\s+2\s+2\s+2\s+2\s+<none>/m)
  })

  it('DaemonSet pods stay bound to a NotReady node past the eviction grace (they tolerate not-ready)', async () => {
    const onPi2 = async () =>
      (
        await kubectl(
          'get',
          'pods',
          '-l',
          'app=agent',
          '--field-selector',
          'spec.nodeName=pi-2',
          '-o',
          'name',
        )
      ).trim()
    const before = await onPi2()
    expect(before).toMatch(/^pod\/agent-/)
    expect((await runCli(['sandbox', 'fault', 'node-stop', 'pi-2'], { env: sb.env })).status).toBe(0)
    try {
      await waitFor('pi-2 NotReady', async () =>
        (await kubectl('get', 'node', 'pi-2', '--no-headers')).includes('NotReady'),
      )
      // the sandbox under test evicts other pods 3 s after NotReady (--node-grace)
      await new Promise((r) => setTimeout(r, 4000))
      expect(await onPi2()).toBe(before)
    } finally {
      await runCli(['sandbox', 'fault', 'node-start', 'pi-2'], { env: sb.env })
      await waitFor('pi-2 Ready', async () =>
        /\sReady\s/.test(await kubectl('get', 'node', 'pi-2', '--no-headers')),
      )
    }
  })

  it('Job: completions with parallelism complete, `kubectl wait --for=condition=complete`', async () => {
    await apply(`apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  completions: 3
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: busybox, command: ["/bin/sh", "-c", "echo migrated"]}]
`)
    await kubectl('wait', '--for=condition=complete', 'job/migrate', '--timeout=60s')
    const job = await json<{
      metadata: { uid: string; labels: Record<string, string> }
      spec: { selector: { matchLabels: Record<string, string> } }
      status: { succeeded: number; completionTime?: string; conditions: { type: string }[] }
    }>('get', 'job', 'migrate')
    expect(job.status.succeeded).toBe(3)
    // the selector the API server generates from the Job's uid (manualSelector unset)
    expect(job.spec.selector.matchLabels).toEqual({ 'batch.kubernetes.io/controller-uid': job.metadata.uid })
    expect(job.metadata.labels).toMatchObject({
      'batch.kubernetes.io/job-name': 'migrate',
      'job-name': 'migrate',
    })
    expect(job.status.completionTime).toBeTruthy()
    expect(job.status.conditions.map((c) => c.type)).toContain('Complete')
    expect(await kubectl('get', 'pods', '-l', 'job-name=migrate', '-o', 'name')).toMatch(
      /(pod\/migrate-.*\n){3}/,
    )
    expect(await kubectl('get', 'job', 'migrate')).toMatch(/^migrate\s+Complete\s+3\/3\s+/m)
  })

  it('Job: a failing pod is retried backoffLimit times, then the Job is Failed (BackoffLimitExceeded)', async () => {
    await apply(`apiVersion: batch/v1
kind: Job
metadata: {name: broken}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: busybox, command: ["/bin/sh", "-c", "exit 3"]}]
`)
    await kubectl('wait', '--for=condition=failed', 'job/broken', '--timeout=60s')
    const job = await json<{ status: { failed: number; conditions: { type: string; reason: string }[] } }>(
      'get',
      'job',
      'broken',
    )
    expect(job.status.failed).toBe(2)
    expect(job.status.conditions.find((c) => c.type === 'Failed')?.reason).toBe('BackoffLimitExceeded')
    expect(await kubectl('get', 'job', 'broken')).toMatch(/^broken\s+Failed\s+0\/1\s+/m)
  })

  it('CronJob: a missed run starts a Job, concurrencyPolicy Forbid skips while it runs', async () => {
    await apply(`apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "* * * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: t, image: busybox, command: ["/bin/sh", "-c", "sleep 30"]}]
`)
    // as after a controller outage: the last run was three minutes ago, so one is due now
    const missed = () =>
      kubectl(
        'patch',
        'cronjob',
        'tick',
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({
          status: { lastScheduleTime: new Date(Date.now() - 180_000).toISOString().replace(/\.\d+Z$/, 'Z') },
        }),
      )
    await missed()
    const first = await waitFor('the CronJob starts a Job', async () => {
      // spec.timeZone is an IANA zone, refused with 422 otherwise
      const bad = await apply(
        'apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: martian}\nspec:\n  schedule: "0 9 * * *"\n  timeZone: Mars/Base\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers: [{name: t, image: busybox}]\n',
      ).catch((err: { stderr?: string }) => err.stderr ?? '')
      expect(bad).toContain('spec.timeZone: Invalid value: "Mars/Base": unknown time zone Mars/Base')
      const jobs = (await kubectl('get', 'jobs', '-o', 'name'))
        .split('\n')
        .filter((j) => j.startsWith('job.batch/tick-'))
      return jobs.length === 1 ? jobs[0] : undefined
    })
    expect(first).toMatch(/^job\.batch\/tick-\d+$/)
    await waitFor('status.active', async () =>
      (await kubectl('get', 'cj', 'tick')).match(/^tick\s+\* \* \* \* \*\s+<none>\s+False\s+1\s+/m),
    )
    await missed()
    await waitFor('the Forbid event', async () =>
      (await kubectl('get', 'events', '--field-selector', 'involvedObject.name=tick')).includes(
        'JobAlreadyActive',
      ),
    )
    const jobs = (await kubectl('get', 'jobs', '-o', 'name'))
      .split('\n')
      .filter((j) => j.startsWith('job.batch/tick-'))
    expect(jobs).toEqual([first])
  })

  it('ReplicationController keeps its replicas and scales with `kubectl scale`', async () => {
    await apply(`apiVersion: v1
kind: ReplicationController
metadata: {name: frontend}
spec:
  replicas: 2
  template:
    metadata: {labels: {app: frontend}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: c, image: busybox, args: ["/bin/sh", "-c", "while true; do sleep 1; done"]}]
`)
    await kubectl('wait', '--for=jsonpath={.status.readyReplicas}=2', 'rc/frontend', '--timeout=60s')
    const rc = await json<{
      spec: { selector: Record<string, string> }
      metadata: { labels: Record<string, string> }
    }>('get', 'rc', 'frontend')
    // defaulted from the template, as pkg/apis/core/v1/defaults.go does
    expect(rc.spec.selector).toEqual({ app: 'frontend' })
    expect(rc.metadata.labels).toEqual({ app: 'frontend' })
    await kubectl('scale', 'rc', 'frontend', '--replicas=1')
    await waitFor('one frontend pod', async () => {
      const names = (await kubectl('get', 'pods', '-l', 'app=frontend', '-o', 'name')).trim().split('\n')
      return names.length === 1 && names[0] !== ''
    })
  })

  it('a Service patch adds a port by its merge key (port), as strategic merge does', async () => {
    await apply(
      'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{name: http, port: 80, targetPort: 80}]\n',
    )
    await kubectl(
      'patch',
      'service',
      'web',
      '-p',
      '{"spec":{"ports":[{"name":"alt","port":8080,"targetPort":8080}]}}',
    )
    const svc = await json<{ spec: { ports: { port: number }[] }; status: unknown }>('get', 'svc', 'web')
    expect(svc.spec.ports.map((p) => p.port)).toEqual([80, 8080])
    expect(svc.status).toEqual({ loadBalancer: {} })
  })

  it("the Python client (Debian's python3-kubernetes) reads every kind it deserialises strictly", async () => {
    const script = `
from kubernetes import client, config
config.load_kube_config()
core, apps, batch = client.CoreV1Api(), client.AppsV1Api(), client.BatchV1Api()
assert core.read_namespaced_service_account('default', 'default').metadata.name == 'default'
nodes = core.list_node().items
assert len(nodes) == 2 and all(n.status.node_info.boot_id for n in nodes)
assert apps.read_namespaced_daemon_set('agent', 'default').status.desired_number_scheduled == 2
assert batch.read_namespaced_job('migrate', 'default').status.succeeded == 3
assert batch.read_namespaced_cron_job('tick', 'default').spec.concurrency_policy == 'Forbid'
assert core.read_namespaced_replication_controller('frontend', 'default').spec.replicas == 1
print('python client ok')
`
    const { stdout } = await run('/usr/bin/python3', ['-c', script], { env: sb.env, timeout: 60_000 })
    expect(stdout).toContain('python client ok')
  })

  it('DELETE answers as kube-apiserver: a Job orphans its pods by default, Background deletes them and answers Status; the garbage collector deletes dependents in the background', async () => {
    type Deleted = {
      kind: string
      status?: string
      details?: { name: string; group: string; kind: string; uid: string }
    }
    type Pods = { items: { metadata: { name: string; ownerReferences?: { uid: string }[] } }[] }
    // no propagationPolicy (the Python client's body={}): batch/v1 Jobs default to Orphan, so the
    // answer is the Job with the orphan finalizer, and its pods stay without the owner reference
    const migrateUid = (await json<{ metadata: { uid: string } }>('get', 'job', 'migrate')).metadata.uid
    const orphaned = JSON.parse(
      await kubectl('delete', '--raw', '/apis/batch/v1/namespaces/default/jobs/migrate'),
    ) as Deleted & { metadata: { finalizers?: string[]; deletionTimestamp?: string } }
    expect(orphaned.kind).toBe('Job')
    expect(orphaned.metadata.finalizers).toEqual(['orphan'])
    expect(orphaned.metadata.deletionTimestamp).toBeTruthy()
    const left = await json<Pods>('get', 'pods', '-l', 'job-name=migrate')
    expect(left.items).toHaveLength(3)
    for (const p of left.items)
      expect(p.metadata.ownerReferences ?? []).not.toContainEqual(
        expect.objectContaining({ uid: migrateUid }),
      )
    // Background: removed at once, so the answer is Status{Success} naming the resource, and the
    // garbage collector deletes its pods
    const brokenUid = (await json<{ metadata: { uid: string } }>('get', 'job', 'broken')).metadata.uid
    const status = JSON.parse(
      await kubectl(
        'delete',
        '--raw',
        '/apis/batch/v1/namespaces/default/jobs/broken?propagationPolicy=Background',
      ),
    ) as Deleted
    expect(status).toMatchObject({
      kind: 'Status',
      status: 'Success',
      details: { name: 'broken', group: 'batch', kind: 'jobs', uid: brokenUid },
    })
    const gone = await json<{ items: { metadata: { deletionTimestamp?: string } }[] }>(
      'get',
      'pods',
      '-l',
      'job-name=broken',
    )
    expect(gone.items.every((p) => p.metadata.deletionTimestamp)).toBe(true)
    await kubectl('delete', 'pods', '-l', 'job-name=migrate', '--wait=false')
    // the garbage collector deletes dependents in the background whatever their own default:
    // a CronJob's Jobs go, and their pods with them (a Job's Orphan default is for direct deletes)
    const jobs = await json<{
      items: { metadata: { name: string; ownerReferences?: { name: string }[] } }[]
    }>('get', 'jobs')
    const tickJobs = jobs.items.filter((j) => j.metadata.ownerReferences?.some((r) => r.name === 'tick'))
    expect(tickJobs.length).toBeGreaterThan(0)
    await kubectl('delete', 'cronjob', 'tick', '--wait=false')
    for (const j of tickJobs) {
      expect(await kubectl('get', 'job', j.metadata.name, '--ignore-not-found', '-o', 'name')).toBe('')
      const pods = await json<{ items: { metadata: { deletionTimestamp?: string } }[] }>(
        'get',
        'pods',
        '-l',
        `job-name=${j.metadata.name}`,
      )
      expect(pods.items.every((p) => p.metadata.deletionTimestamp)).toBe(true)
    }
  })
})
