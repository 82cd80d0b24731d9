// npm run bench:sandbox — prints: sandbox up → API ready; arm64 pod create → Ready
// (periodSeconds 1, through qemu-user); 40 pods at once (all Ready, time, RSS per pod); sustained
// API writes per second (each synced to disk before it is acknowledged).
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { sandboxCredentials } from '../helpers/api-watch.js'
import { runCli } from '../helpers/cli.js'
import { pushSampleApp } from '../helpers/images.js'
import { podProcesses } from '../helpers/pod-processes.js'
import { waitFor } from '../helpers/ports.js'
import { startSandbox } from '../helpers/sandbox.js'

const run = promisify(execFile)

const home = mkdtempSync(join(tmpdir(), 'ec-bench-sb-'))
const env = {
  ...process.env,
  EDGECANARY_HOME: home,
  KUBECONFIG: join(home, 'config'),
  HOME: home,
  CI: 'true',
}
const ups: number[] = []
for (let i = 0; i < 3; i++) {
  const t = performance.now()
  const r = await runCli(['sandbox', 'up', '--nodes', '4'], { env })
  if (r.status !== 0) throw new Error(r.stderr)
  ups.push(performance.now() - t)
  await runCli(['sandbox', 'down'], { env })
}
rmSync(home, { recursive: true, force: true })
console.log(
  `sandbox up → API ready (CLI, background process, 4 nodes): ${ups.map((x) => `${(x / 1000).toFixed(2)} s`).join(', ')}   goal ≤ 3 s`,
)

const sb = await startSandbox({ nodes: 4 })
try {
  const image = await pushSampleApp(sb, '1.0')
  const kubectl = async (...a: string[]) => (await run('kubectl', a, { env: sb.env })).stdout
  const manifest = (name: string, replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: default}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - {name: app, image: "${image}", ports: [{containerPort: 8080}], readinessProbe: {httpGet: {path: /health, port: 8080}, periodSeconds: 1}}
`
  const readyTimes: number[] = []
  for (let i = 0; i < 5; i++) {
    const f = join(sb.home, `one-${i}.yaml`)
    writeFileSync(f, manifest(`one-${i}`, 1))
    const t = performance.now()
    await kubectl('apply', '-f', f)
    await waitFor(
      'ready',
      async () =>
        (await kubectl('get', 'deploy', `one-${i}`, '-o', 'jsonpath={.status.readyReplicas}')) === '1'
          ? true
          : undefined,
      30_000,
      20,
    )
    readyTimes.push(performance.now() - t)
  }
  console.log(
    `arm64 pod create → Ready (periodSeconds 1, qemu-user): ${readyTimes.map((x) => `${(x / 1000).toFixed(2)} s`).join(', ')}   goal ≤ 1.5 s`,
  )

  const f = join(sb.home, 'forty.yaml')
  writeFileSync(f, manifest('forty', 40))
  const t = performance.now()
  await kubectl('apply', '-f', f)
  await waitFor(
    '40 ready',
    async () =>
      (await kubectl('get', 'deploy', 'forty', '-o', 'jsonpath={.status.readyReplicas}')) === '40'
        ? true
        : undefined,
    180_000,
    100,
  )
  const all = performance.now() - t
  // every process of a pod: container wrappers, the entrypoints (under qemu-user), the
  // network namespace holder and its forwarders
  const procs = podProcesses(sb.home).filter((p) => p.namespace === 'default' && p.pod.startsWith('forty-'))
  const perPod = new Map<string, number>()
  for (const p of procs) {
    let kib = 0
    try {
      kib = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'))?.[1] ?? 0)
    } catch {}
    perPod.set(p.pod, (perPod.get(p.pod) ?? 0) + kib / 1024)
  }
  const avg = [...perPod.values()].reduce((a, b) => a + b, 0) / Math.max(1, perPod.size)
  console.log(
    `40 pods at once: all Ready in ${(all / 1000).toFixed(1)} s; ${procs.length} processes for ${perPod.size} pods, RSS ${avg.toFixed(1)} MiB per pod including helpers (goal ≤ 34.8 MiB, 1.3 × 26.8)`,
  )

  // Sustained writes: each one acknowledged only once the store's journal is synced to disk.
  const { server, ca, token } = sandboxCredentials(sb.kubeconfig)
  const agent = new Agent({ keepAlive: true, maxSockets: 32, ca })
  const post = (i: number) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: server.hostname,
          port: server.port,
          method: 'POST',
          path: '/api/v1/namespaces/default/configmaps',
          agent,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        },
        (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
        },
      )
      req.on('error', reject)
      req.end(JSON.stringify({ metadata: { name: `w-${i}` }, data: { i: String(i), pad: 'x'.repeat(512) } }))
    })
  let next = 0
  let acked = 0
  const until = performance.now() + 5000
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (performance.now() < until && next < 100_000) if ((await post(next++)) === 201) acked++
    }),
  )
  const secs = (performance.now() - t0) / 1000
  agent.destroy()
  console.log(
    `sustained writes (ConfigMap creates over HTTPS, 32 at a time, each synced to disk before its 201): ${(acked / secs).toFixed(0)} writes/s over ${secs.toFixed(1)} s`,
  )
} finally {
  await sb.stop()
}
