import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { connectCluster } from '../../src/adapters/kube-cluster.js'
import type { Cluster } from '../../src/ports.js'
import { type CliResult, runCli } from '../helpers/cli.js'
import { pushSampleApp } from '../helpers/images.js'
import { waitFor } from '../helpers/ports.js'
import { cliEntry, repoRoot, startSandbox, type TestSandbox } from '../helpers/sandbox.js'

interface VerifyJson {
  requests: number
  versions: { version: string; count: number; percent: number }[]
  errorCount: number
  errors: { kind: string; count: number }[]
}

// Each scenario asserts cluster state, exit code, `status --json`, and what users saw.
describe('edgecanary release on the sandbox', () => {
  let sb: TestSandbox
  let cluster: Cluster
  let work: string
  const ns = 'production'
  const ec = (args: string[], timeoutMs = 180_000) => runCli(args, { env: sb.env, cwd: work, timeoutMs })
  const fast = ['--interval', '1s', '--iterations', '2', '--load', '20']

  /** verify at 20 requests/s beside a release, as a user's laptop would. */
  const verifyBeside = (requests: number) =>
    ec(['verify', '--requests', String(requests), '--rate', '20', '--json'])

  const stableVersion = async () => {
    const r = await ec(['verify', '--requests', '40', '--rate', '100', '--json'])
    return (JSON.parse(r.stdout) as VerifyJson).versions
  }

  const status = async () =>
    JSON.parse((await ec(['status', '--json'])).stdout) as {
      phase: string
      version: string
      ratio: string
      reason?: string
      advice?: string
    }

  beforeAll(async () => {
    sb = await startSandbox({ nodes: 4, backoffBaseMs: 1000 })
    work = join(sb.home, 'work')
    await runCli(['--version'], { env: sb.env })
    const { mkdirSync } = await import('node:fs')
    mkdirSync(work)
    cluster = connectCluster({ kubeconfig: sb.kubeconfig })
  })
  afterAll(async () => sb?.stop())

  it('init deploys 1.0 behind a LoadBalancer, idempotently, and writes edgecanary.yaml', async () => {
    const dry = await ec(['init', '--version', '1.0', '--source', join(repoRoot, 'sample-app'), '--dry-run'])
    expect(dry.status, dry.stderr).toBe(0)
    expect(dry.stdout).toContain('kind: Deployment')
    expect(await cluster.getDeployment(ns, 'kubeapp')).toBeUndefined()

    const r = await ec(['init', '--version', '1.0', '--source', join(repoRoot, 'sample-app'), '--json'])
    expect(r.status, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as { url: string; image: string }
    expect(out.image).toMatch(/kubeapp:1\.0@sha256:[0-9a-f]{64}$/)
    expect(await (await fetch(`${out.url}/version`)).text()).toBe('1.0\n')
    const cfg = parse(readFileSync(join(work, 'edgecanary.yaml'), 'utf8')) as {
      app: string
      namespace: string
      repository: string
    }
    expect(cfg).toMatchObject({
      app: 'kubeapp',
      namespace: 'production',
      repository: `${sb.registry}/kubeapp`,
    })

    const before = await cluster.getDeployment(ns, 'kubeapp')
    const again = await ec(['init', '--version', '1.0', '--source', join(repoRoot, 'sample-app'), '--json'])
    expect(again.status, again.stderr).toBe(0)
    const after = await cluster.getDeployment(ns, 'kubeapp')
    expect(after?.metadata.generation).toBe(before?.metadata.generation)
  })

  it('happy path: 3:1 → 2:2 → 1:3 → promoted, 0 failed requests, history has it', async () => {
    const seen = new Set<string>()
    let watching = true
    const watcher = (async () => {
      while (watching) {
        const s = await cluster.getDeployment(ns, 'kubeapp')
        const c = await cluster.getDeployment(ns, 'kubeapp-canary')
        const pair = `${s?.status?.readyReplicas ?? 0}:${c?.status?.readyReplicas ?? 0}`
        if (s?.spec.replicas === s?.status?.readyReplicas && c?.spec.replicas === c?.status?.readyReplicas)
          seen.add(pair)
        await new Promise((r) => setTimeout(r, 100))
      }
    })()
    const users = verifyBeside(300)
    const r = await ec(['release', '2.0', ...fast, '--json'])
    watching = false
    await watcher
    expect(r.status, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({
      phase: 'Succeeded',
      version: '2.0',
      steps: [
        { stable: 3, canary: 1 },
        { stable: 2, canary: 2 },
        { stable: 1, canary: 3 },
      ],
    })
    for (const ratio of ['3:1', '2:2', '1:3']) expect(seen).toContain(ratio)
    const u = JSON.parse((await users).stdout) as VerifyJson
    expect(u.errorCount).toBe(0)
    expect(u.versions.map((v) => v.version)).toEqual(['1.0', '2.0'])
    expect(await stableVersion()).toEqual([{ version: '2.0', count: 40, percent: 100 }])
    expect((await cluster.getDeployment(ns, 'kubeapp-canary'))?.spec.replicas).toBe(0)
    expect(await status()).toMatchObject({ phase: 'Succeeded', version: '2.0', ratio: '4:0' })
    const h = JSON.parse((await ec(['history', '--json'])).stdout) as {
      releases: { version: string; phase: string }[]
    }
    expect(h.releases.at(-1)).toMatchObject({ version: '2.0', phase: 'Succeeded' })
    const again = await ec(['release', '2.0', ...fast, '--json'])
    expect(again.status).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({ noop: true })
  })

  it('HEALTH_STATUS=500 stops at the pre-traffic gate and rolls back with 0 failed user requests', async () => {
    const users = verifyBeside(120)
    const r = await ec(['release', '2.1', ...fast, '--env', 'HEALTH_STATUS=500'])
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('pre-traffic gate')
    expect(r.stderr).toContain('/health answered 500')
    const u = JSON.parse((await users).stdout) as VerifyJson
    expect(u.errorCount).toBe(0)
    expect(u.versions.map((v) => v.version)).toEqual(['2.0'])
    expect(await status()).toMatchObject({ phase: 'RolledBack', version: '2.1', ratio: '4:0' })
  })

  it('FAIL_RATE=0.5 is caught by the success-rate gate within one interval', async () => {
    const t0 = Date.now()
    const r = await ec(['release', '2.2', ...fast, '--env', 'FAIL_RATE=0.5'])
    expect(r.status).toBe(1)
    // caught by the pre-traffic gate (its /version probe answered 500 three times) or by the
    // first analysis interval (a canary 5xx), never later
    expect(r.stderr).toMatch(
      /canary answered HTTP 500|success rate|pre-traffic gate: \S+ \/version answered 500/,
    )
    expect(Date.now() - t0).toBeLessThan(20_000)
    expect(await stableVersion()).toEqual([{ version: '2.0', count: 40, percent: 100 }])
  })

  it('LATENCY_MS=800 is caught by the latency gate', async () => {
    const r = await ec(['release', '2.3', ...fast, '--env', 'LATENCY_MS=800'])
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('p99 latency')
  })

  it('CRASH_AFTER_S=2 fails fast on CrashLoopBackOff, naming it', async () => {
    const r = await ec([
      'release',
      '2.4',
      '--interval',
      '3s',
      '--iterations',
      '3',
      '--load',
      '20',
      '--env',
      'CRASH_AFTER_S=2',
    ])
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('CrashLoopBackOff')
    expect(await status()).toMatchObject({ phase: 'RolledBack', ratio: '4:0' })
  })

  it('refuses an amd64-only image on arm64 nodes and a missing image at preflight (exit 2, nothing changed)', async () => {
    const amd64 = await pushSampleApp(sb, '2.5', ['linux/amd64'])
    const before = await cluster.getDeployment(ns, 'kubeapp')
    const r = await ec(['release', '2.5', '--image', amd64])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('built for amd64 but the nodes are arm64')
    const missing = await ec(['release', '2.6', '--image', `${sb.registry}/kubeapp:2.6`])
    expect(missing.status).toBe(2)
    expect(missing.stderr).toContain('is not in the registry')
    const after = await cluster.getDeployment(ns, 'kubeapp')
    expect(after?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion)
  })

  it('refuses to release while a HorizontalPodAutoscaler scales the app (exit 2, nothing changed)', async () => {
    const { execFile } = await import('node:child_process')
    const kubectl = (args: string[], input?: string) =>
      new Promise<void>((resolve, reject) => {
        const p = execFile('kubectl', args, { env: sb.env }, (err) => (err ? reject(err) : resolve()))
        p.stdin?.end(input ?? '')
      })
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: kubeapp, namespace: production}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: kubeapp}
  minReplicas: 2
  maxReplicas: 6
`,
    )
    const before = await cluster.getDeployment(ns, 'kubeapp')
    const r = await ec(['release', '2.9', ...fast])
    await kubectl(['delete', 'hpa', 'kubeapp', '-n', ns])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('HorizontalPodAutoscaler kubeapp scales Deployment kubeapp')
    expect((await cluster.getDeployment(ns, 'kubeapp'))?.metadata.resourceVersion).toBe(
      before?.metadata.resourceVersion,
    )
  })

  it('a /version that differs from the requested version is stopped at the gate', async () => {
    const image = await pushSampleApp(sb, '2.7')
    const r = await ec(['release', '2.8', '--image', image, ...fast])
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('/version is "2.7", expected "2.8"')
  })

  it('two releases at once: one runs, the other exits 3 naming the holder', async () => {
    const first = ec(['release', '3.0', '--interval', '2s', '--iterations', '2', '--load', '10'])
    await waitFor(
      'first holds the lease',
      async () =>
        (await cluster.getLease(ns, 'edgecanary-kubeapp'))?.spec.holderIdentity ? true : undefined,
      60_000,
      100,
    )
    const second = await ec(['release', '3.0', ...fast])
    expect(second.status).toBe(3)
    expect(second.stderr).toMatch(/holds the lock: edgecanary@/)
    const r = await first
    expect(r.status, r.stderr).toBe(0)
  })

  it('SIGKILL mid-release: status explains, abort rolls back consistently; a second kill resumes to promotion', async () => {
    const kill = async (version: string): Promise<void> => {
      const child: ChildProcess = spawn(
        process.execPath,
        [cliEntry, 'release', version, '--interval', '2s', '--iterations', '2', '--load', '10'],
        { env: sb.env, cwd: work, stdio: 'ignore' },
      )
      await waitFor(
        'step 2',
        async () => {
          const c = await cluster.getDeployment(ns, 'kubeapp-canary')
          return c?.spec.replicas === 2 ? true : undefined
        },
        60_000,
        100,
      )
      child.kill('SIGKILL')
      await new Promise((r) => child.on('exit', r))
    }
    await kill('3.1')
    const st = await status()
    expect(st.phase).toBe('Interrupted')
    expect(st.advice).toContain('edgecanary release 3.1')
    const abort = await ec(['abort', '--json'])
    expect(abort.status, abort.stderr).toBe(0)
    expect(await status()).toMatchObject({ phase: 'Aborted', ratio: '4:0' })
    expect(await stableVersion()).toEqual([{ version: '3.0', count: 40, percent: 100 }])

    await kill('3.2')
    const resumed = await ec(['release', '3.2', ...fast, '--json'])
    expect(resumed.status, resumed.stderr).toBe(0)
    expect(JSON.parse(resumed.stdout)).toMatchObject({ phase: 'Succeeded', resumed: true })
    expect(await stableVersion()).toEqual([{ version: '3.2', count: 40, percent: 100 }])
  })

  it('promote from a second process during --pause finishes the release', async () => {
    const paused = ec(['release', '3.3', ...fast, '--pause'])
    await waitFor('Paused', async () => ((await status()).phase === 'Paused' ? true : undefined), 60_000, 200)
    const p = await ec(['promote', '--json'])
    expect(p.status, p.stderr).toBe(0)
    expect(JSON.parse(p.stdout)).toMatchObject({ delegated: true })
    const r = await paused
    expect(r.status, r.stderr).toBe(0)
    expect(await status()).toMatchObject({ phase: 'Succeeded', version: '3.3' })
  })

  it('kubectl scale drift on the canary during a pause is detected and reported', async () => {
    const paused = ec(['release', '3.4', ...fast, '--pause'])
    await waitFor('Paused', async () => ((await status()).phase === 'Paused' ? true : undefined), 60_000, 200)
    await cluster.patchDeployment(ns, 'kubeapp-canary', { spec: { replicas: 3 } })
    const st = await waitFor(
      'drift reported',
      async () => {
        const s = (await status()) as { drift?: string }
        return s.drift ? s : undefined
      },
      30_000,
      200,
    )
    expect(st.drift).toContain('kubeapp-canary scaled to 3 outside edgecanary (step 1 expects 1)')
    expect((await runCli(['status'], { env: sb.env, cwd: work })).stdout).toContain('drift')
    expect((await ec(['abort'])).status).toBe(0)
    expect((await paused).status).toBe(1)
    expect(await status()).toMatchObject({ phase: 'Aborted', ratio: '4:0' })
  })

  it('API answering 500s and 429s for a while: the release retries and still promotes', async () => {
    const hook: { phase: string; version: string }[] = []
    const { createServer } = await import('node:http')
    const server = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => {
        body += c.toString()
      })
      req.on('end', () => {
        hook.push(JSON.parse(body) as { phase: string; version: string })
        res.end('ok')
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    const port = (server.address() as { port: number }).port
    const release = ec(['release', '3.5', ...fast, '--notify', `http://127.0.0.1:${port}/hook`])
    await waitFor(
      'first step',
      async () =>
        (await cluster.getDeployment(ns, 'kubeapp-canary'))?.spec.replicas === 1 ? true : undefined,
      60_000,
      100,
    )
    expect(
      (await runCli(['sandbox', 'fault', 'api-error', '--status', '500', '--count', '20'], { env: sb.env }))
        .status,
    ).toBe(0)
    await new Promise((r) => setTimeout(r, 1500))
    expect(
      (await runCli(['sandbox', 'fault', 'api-error', '--status', '429', '--seconds', '2'], { env: sb.env }))
        .status,
    ).toBe(0)
    const r = await release
    server.close()
    expect(r.status, r.stderr).toBe(0)
    expect(await stableVersion()).toEqual([{ version: '3.5', count: 40, percent: 100 }])
    // the generic JSON webhook saw the release from start to promotion
    expect(hook.every((e) => e.version === '3.5')).toBe(true)
    expect(hook.map((e) => e.phase)).toContain('Progressing')
    expect(hook.at(-1)?.phase).toBe('Succeeded')
  })

  it.each([
    [['release', '2.0 beta'], 'not a valid image tag'],
    [['release', '4.0', '--bogus'], 'Nonexistent flag'],
    [['release', '4.0', '--steps', '50,25'], 'ascending'],
    [['release', '4.0', '--context', 'nope'], 'context "nope" is not in the kubeconfig'],
  ])('bad input %j → exit 2, nothing changed', async (args, reason) => {
    const before = await cluster.getDeployment(ns, 'kubeapp')
    const r = await ec(args)
    expect(r.status).toBe(2)
    expect(r.stderr).toContain(reason)
    expect((await cluster.getDeployment(ns, 'kubeapp'))?.metadata.resourceVersion).toBe(
      before?.metadata.resourceVersion,
    )
  })

  it('a broken edgecanary.yaml is exit 2 naming the field', async () => {
    const file = join(work, 'edgecanary.yaml')
    const good = readFileSync(file, 'utf8')
    writeFileSync(file, stringify({ ...(parse(good) as object), analysis: { interval: 'soon' } }))
    const r: CliResult = await ec(['release', '4.0'])
    writeFileSync(file, good)
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('analysis.interval: must be a duration')
  })

  it('an unreachable cluster is exit 2 with a hint', async () => {
    const cfg = join(work, 'dead-kubeconfig')
    writeFileSync(
      cfg,
      readFileSync(sb.kubeconfig, 'utf8').replace(/https:\/\/127\.0\.0\.1:\d+/, 'https://127.0.0.1:9'),
    )
    const r = await runCli(['release', '4.0', '--kubeconfig', cfg], {
      env: sb.env,
      cwd: work,
      timeoutMs: 60_000,
    })
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('unreachable')
    expect(r.stderr).toContain('Hint:')
  })
})
