import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildAndPush } from '../../src/build/index.js'
import { isAlive } from '../../src/daemon.js'
import { runCli } from '../helpers/cli.js'
import { type PodProcess, podProcesses, processState } from '../helpers/pod-processes.js'
import { waitFor } from '../helpers/ports.js'
import { repoRoot } from '../helpers/sandbox.js'

const run = promisify(execFile)

// Issue 4: "No orphans: after `sandbox down` no pod process remains", and the design's
// clarification: pods start with a parent-death signal, so a killed sandbox leaves none either.
// The sandbox runs as users run it: `edgecanary sandbox up` in the background, then `down`.
describe('sandbox pod processes never outlive the sandbox', () => {
  const home = mkdtempSync(join(tmpdir(), 'ec-orphans-'))
  const env = {
    ...process.env,
    EDGECANARY_HOME: home,
    KUBECONFIG: join(home, 'kubeconfig'),
    HOME: home,
    CI: 'true',
  }
  const kubectl = async (...args: string[]) => (await run('kubectl', args, { env, timeout: 60_000 })).stdout
  let serverPid = 0
  const started: number[] = []

  const up = async (): Promise<{ pid: number; registry: string }> => {
    const r = await runCli(['sandbox', 'up', '--nodes', '2', '--backoff-base', '500', '--json'], { env })
    expect(r.status, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as { pid: number; registry: string }
    serverPid = out.pid
    return out
  }

  /** Waits for both pods of the Deployment to run and returns their processes. */
  const runningPods = async (): Promise<PodProcess[]> => {
    await kubectl('rollout', 'status', 'deploy/app', '-n', 'orphans', '--timeout=60s')
    return waitFor(
      'one process per pod',
      () => {
        const procs = podProcesses(home).filter((p) => p.namespace === 'orphans')
        return new Set(procs.map((p) => p.pod)).size === 2 ? procs : undefined
      },
      20_000,
      100,
    )
  }

  beforeAll(async () => {
    const { registry } = await up()
    const image = (
      await buildAndPush({
        source: join(repoRoot, 'sample-app'),
        version: '1.0',
        repo: `${registry}/kubeapp`,
        platforms: ['linux/arm64'],
        cacheDir: join(home, 'cache'),
      })
    ).image
    const manifest = join(home, 'app.yaml')
    writeFileSync(
      manifest,
      `apiVersion: v1
kind: Namespace
metadata: {name: orphans}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: orphans}
spec:
  replicas: 2
  selector: {matchLabels: {app: orphans}}
  template:
    metadata: {labels: {app: orphans}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: app
        image: ${image}
        ports: [{containerPort: 8080}]
        env: [{name: DRAIN_SECONDS, value: "0"}]
        readinessProbe: {httpGet: {path: /health, port: 8080}, periodSeconds: 1}
`,
    )
    await kubectl('apply', '-f', manifest)
  })

  afterAll(async () => {
    for (const pid of [serverPid, ...started]) {
      if (pid && isAlive(pid)) process.kill(pid, 'SIGKILL')
    }
    rmSync(home, { recursive: true, force: true })
  })

  it('`sandbox down` with pods running leaves no pod process', async () => {
    const procs = await runningPods()
    started.push(...procs.map((p) => p.pid))
    for (const p of procs) expect(processState(p.pid)).toBe('alive')

    const down = await runCli(['sandbox', 'down', '--json'], { env })
    expect(down.status, down.stderr).toBe(0)
    expect(JSON.parse(down.stdout)).toMatchObject({ stopped: true })
    // `down` returns once the server is gone, and the server waits for its pods: nothing is left
    // in /proc at all, not even a zombie
    expect(procs.map((p) => [p.pod, processState(p.pid)])).toEqual(procs.map((p) => [p.pod, 'gone']))
    expect(processState(serverPid)).not.toBe('alive')
  })

  it('a --foreground --exit-with-parent sandbox stops when the process that started it is killed', async () => {
    const fgHome = mkdtempSync(join(tmpdir(), 'ec-orphans-fg-'))
    // a parent that starts the sandbox the way the test helper does, then is SIGKILLed
    const parent = spawn(
      process.execPath,
      [
        '-e',
        `const { spawn } = require('node:child_process')
         const c = spawn(process.execPath, [${JSON.stringify(join(repoRoot, 'bin', 'run.js'))}, 'sandbox', 'up', '--foreground', '--exit-with-parent', '--nodes=1'], { stdio: ['ignore', 'ignore', 'pipe'] })
         process.stdout.write(c.pid + '\\n')
         c.stderr.on('data', (d) => { if (String(d).includes('sandbox ready')) process.stdout.write('ready\\n') })
         setInterval(() => {}, 1000)`,
      ],
      { env: { ...env, EDGECANARY_HOME: fgHome, HOME: fgHome }, stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    parent.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
    })
    try {
      await waitFor(
        'sandbox ready under its parent',
        async () => (out.includes('ready') ? true : undefined),
        60_000,
        100,
      )
      const sandboxPid = Number(out.split('\n')[0])
      expect(isAlive(sandboxPid)).toBe(true)
      parent.kill('SIGKILL')
      await waitFor(
        'sandbox gone after its parent',
        async () => (isAlive(sandboxPid) ? undefined : true),
        20_000,
        100,
      )
    } finally {
      parent.kill('SIGKILL')
      const pid = Number(out.split('\n')[0])
      if (pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL')
      rmSync(fgHome, { recursive: true, force: true })
    }
  })

  it('a SIGKILLed sandbox server takes its pod processes with it', async () => {
    await up()
    const procs = await runningPods() // the Deployment was persisted: its pods come back
    started.push(...procs.map((p) => p.pid))
    for (const p of procs) expect(processState(p.pid)).toBe('alive')

    process.kill(serverPid, 'SIGKILL')
    // the kernel delivers the parent-death signal at once; allow for a loaded machine. A zombie
    // is dead (it only waits for init to reap it), so it counts as stopped here.
    await waitFor(
      'pod processes dead after the server was killed',
      () => (procs.every((p) => processState(p.pid) !== 'alive') ? true : undefined),
      5_000,
      50,
    )
    expect(podProcesses(home).filter((p) => processState(p.pid) === 'alive')).toEqual([])
  })
})
