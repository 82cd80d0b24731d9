import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { connectCluster } from '../../src/adapters/kube-cluster.js'
import { LockHeld } from '../../src/errors.js'
import type { Cluster } from '../../src/ports.js'
import { acquireLock, EPOCH_ANNOTATION, epochOn } from '../../src/release/lock.js'
import { notify, type ReleaseEvent, type WebhookKind } from '../../src/release/notify.js'
import { appendHistory, historyName, type ReleaseState, readHistory } from '../../src/release/state.js'
import { runCli } from '../helpers/cli.js'
import { pushSampleApp } from '../helpers/images.js'
import { waitFor } from '../helpers/ports.js'
import { cliEntry, startSandbox, type TestSandbox } from '../helpers/sandbox.js'

interface StatusJson {
  namespace: string
  phase: string
  version?: string
  ratio: string
  reason?: string
  advice?: string
  lastAnalysis?: object
}

interface VerifyJson {
  versions: Record<string, { count: number; share: number; errors: number }>
  errorCount: number
}

/** A local HTTP server that records what it receives and answers with `answer`. */
async function listen(
  answer: (n: number, res: import('node:http').ServerResponse) => void = (_n, res) => res.end('ok'),
): Promise<{ url: string; bodies: unknown[]; server: Server }> {
  const bodies: unknown[] = []
  let n = 0
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => {
      body += c.toString()
    })
    req.on('end', () => {
      if (body) bodies.push(JSON.parse(body))
      answer(++n, res)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, bodies, server }
}

// Behaviour from the design's "Release semantics" and "Clarifications": deploy by digest,
// namespace precedence, Ctrl-C, fast-fail without preflight, events, dry-run, teardown,
// status --watch, verify exit codes, webhook payloads.
describe('release semantics on the sandbox', { timeout: 240_000 }, () => {
  let sb: TestSandbox
  let cluster: Cluster
  let work: string
  let empty: string
  const ns = 'production'
  const images: Record<string, string> = {}
  const tag = (v: string) => `${sb.registry}/kubeapp:${v}`
  const ec = (args: string[], timeoutMs = 180_000) => runCli(args, { env: sb.env, cwd: work, timeoutMs })
  /** From a directory with no edgecanary.yaml: cluster state alone must be enough. */
  const elsewhere = (args: string[], timeoutMs = 180_000) =>
    runCli(args, { env: sb.env, cwd: empty, timeoutMs })
  const fast = ['--interval', '1s', '--iterations', '1', '--load', '20']
  const status = async (where = ec) => JSON.parse((await where(['status', '--json'])).stdout) as StatusJson
  const waitPhase = (phase: string, where = ec) =>
    waitFor(phase, async () => ((await status(where)).phase === phase ? true : undefined), 90_000, 200)

  beforeAll(async () => {
    sb = await startSandbox({ nodes: 4, backoffBaseMs: 500 })
    work = join(sb.home, 'work')
    empty = join(sb.home, 'elsewhere')
    mkdirSync(work)
    mkdirSync(empty)
    cluster = connectCluster({ kubeconfig: sb.kubeconfig })
    for (const v of ['1.0', '2.0', '2.1', '3.0', '3.1', '3.2', '4.0']) images[v] = await pushSampleApp(sb, v)
  }, 300_000)
  afterAll(async () => sb?.stop())

  it('init --image repo:tag deploys the digest the registry holds, not the tag', async () => {
    const r = await ec(['init', '--image', tag('1.0'), '--json'])
    expect(r.status, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ image: images['1.0'] })
    const d = await cluster.getDeployment(ns, 'kubeapp')
    expect(d?.spec.template.spec.containers[0].image).toBe(images['1.0'])
    expect(images['1.0']).toMatch(/^.+\/kubeapp:1\.0@sha256:[0-9a-f]{64}$/)
  })

  it('release --dry-run prints the replica table and changes nothing', async () => {
    const before = await cluster.getDeployment(ns, 'kubeapp')
    const r = await ec(['release', '2.0', '--image', tag('2.0'), '--dry-run'])
    expect(r.status, r.stderr).toBe(0)
    for (const row of ['stable 3 : canary 1', 'stable 2 : canary 2', 'stable 1 : canary 3'])
      expect(r.stderr).toContain(row)
    expect(r.stderr).toContain('nothing is changed')
    expect((await cluster.getDeployment(ns, 'kubeapp'))?.metadata.resourceVersion).toBe(
      before?.metadata.resourceVersion,
    )
    expect(await cluster.getDeployment(ns, 'kubeapp-canary')).toBeUndefined()
    expect(await cluster.getLease(ns, 'edgecanary-kubeapp')).toBeUndefined()
  })

  it('release --image repo:tag runs the digest; each transition is an Event on the stable Deployment; status --watch follows to the end', async () => {
    const watch = ec(['status', '--watch'], 120_000)
    const r = await ec(['release', '2.0', '--image', tag('2.0'), ...fast, '--json'])
    expect(r.status, r.stderr).toBe(0)
    expect((await cluster.getDeployment(ns, 'kubeapp-canary'))?.spec.template.spec.containers[0].image).toBe(
      images['2.0'],
    )
    expect((await cluster.getDeployment(ns, 'kubeapp'))?.spec.template.spec.containers[0].image).toBe(
      images['2.0'],
    )

    // the watch ends by itself once the release has ended (runCli would SIGKILL it at 120 s)
    const w = await watch
    expect(w.status, w.stderr).toBe(0)
    expect(w.stdout).toContain('Progressing (release 2.0')
    expect(w.stdout).toContain('Succeeded (release 2.0')
    expect(
      w.stdout
        .trimEnd()
        .split('\n')
        .filter((l) => /^\[/.test(l)).length,
    ).toBeGreaterThan(2)

    const events = await kubectlJson<{
      items: { reason: string; message: string; involvedObject: { kind: string; name: string } }[]
    }>(['get', 'events', '-n', ns, '-o', 'json'])
    const onStable = events.items.filter(
      (e) => e.involvedObject.kind === 'Deployment' && e.involvedObject.name === 'kubeapp',
    )
    const reasons = onStable.map((e) => e.reason)
    for (const reason of ['CanaryProgressing', 'CanaryPromoting', 'CanaryFinalising', 'CanarySucceeded'])
      expect(reasons).toContain(reason)
    expect(
      onStable.find((e) => e.reason === 'CanaryProgressing' && /step 1\/3: 3:1/.test(e.message)),
    ).toBeDefined()
  })

  it('FAIL_RATE=0.5 passes the pre-traffic gate and is rolled back by the success-rate check within the first interval', async () => {
    const t0 = Date.now()
    const r = await ec([
      'release',
      '2.1',
      '--image',
      tag('2.1'),
      '--interval',
      '5s',
      '--iterations',
      '2',
      '--load',
      '20',
      '--env',
      'FAIL_RATE=0.5',
    ])
    expect(r.status).toBe(1)
    // the gate's single /version probe per pod was request 1, which FAIL_RATE lets through
    expect(r.stderr).toMatch(
      /rolled back: canary answered HTTP 500 \(\d+ of \d+ requests, success rate [\d.]+% < 99%\)/,
    )
    expect(r.stderr).not.toMatch(/rolled back: pre-traffic gate/)
    const st = await status()
    expect(st).toMatchObject({ phase: 'RolledBack', version: '2.1', ratio: '4:0' })
    // no analysis interval completed: the first canary 5xx decided
    expect(st.lastAnalysis).toBeUndefined()
    expect(Date.now() - t0).toBeLessThan(40_000)
    const v = JSON.parse(
      (await ec(['verify', '--requests', '40', '--rate', '100', '--json'])).stdout,
    ) as VerifyJson
    expect(v.versions).toEqual({ '2.0': expect.objectContaining({ count: 40, share: 100, errors: 0 }) })
  })

  it('--skip-preflight with a missing image: the engine fails fast naming ErrImagePull/ImagePullBackOff', async () => {
    const r = await ec(['release', '2.6', '--image', tag('2.6'), '--skip-preflight', ...fast])
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/(ErrImagePull|ImagePullBackOff): pod kubeapp-canary-/)
    expect(await status()).toMatchObject({ phase: 'RolledBack', version: '2.6', ratio: '4:0' })
  })

  it('--skip-preflight with an amd64-only image on arm64 nodes: the engine fails fast naming exec format error', async () => {
    const amd64 = await pushSampleApp(sb, '2.5', ['linux/amd64'])
    const r = await ec(['release', '2.5', '--image', amd64, '--skip-preflight', ...fast])
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('exec format error')
    expect(await status()).toMatchObject({ phase: 'RolledBack', version: '2.5', ratio: '4:0' })
  })

  it('promotion: a new stable pod whose /version does not answer 200 is found once the rollout is complete, and rolled back', async () => {
    // the stable template's own env fails every / and /version; the canary overrides it, so the
    // gate and the analysis pass and only the promoted stable pods (the stable env kept) fail
    await kubectl(['set', 'env', 'deployment/kubeapp', '-n', ns, 'FAIL_RATE=1'])
    await kubectl(['rollout', 'status', 'deployment/kubeapp', '-n', ns, '--timeout=60s'])
    try {
      const before = (await cluster.getDeployment(ns, 'kubeapp'))?.spec.template.spec.containers[0].image
      const image = await pushSampleApp(sb, '2.7')
      const r = await ec(['release', '2.7', '--image', image, ...fast, '--env', 'FAIL_RATE=0'])
      expect(r.status, r.stderr).toBe(1)
      expect(r.stderr).toMatch(/rolled back: after promotion kubeapp-[a-z0-9-]+ answers \/version "HTTP 500"/)
      expect(await status()).toMatchObject({ phase: 'RolledBack', version: '2.7', ratio: '4:0' })
      const d = await cluster.getDeployment(ns, 'kubeapp')
      expect(d?.spec.template.spec.containers[0].image).toBe(before)
      expect(d?.status).toMatchObject({ replicas: 4, updatedReplicas: 4, readyReplicas: 4 })
      expect((await cluster.getDeployment(ns, 'kubeapp-canary'))?.spec.replicas).toBe(0)
    } finally {
      await kubectl(['set', 'env', 'deployment/kubeapp', '-n', ns, 'FAIL_RATE-'])
      await kubectl(['rollout', 'status', 'deployment/kubeapp', '-n', ns, '--timeout=60s'])
    }
  })

  it('watchDeployment: the state the watch starts from, then each change, until it is stopped', async () => {
    const seen: (string | undefined)[] = []
    const stop = cluster.watchDeployment(ns, 'kubeapp', (d) =>
      seen.push(d.metadata.annotations?.['test.edgecanary.dev/watch']),
    )
    try {
      await waitFor('the first event', async () => (seen.length > 0 ? true : undefined), 10_000, 20)
      expect(seen[0]).toBeUndefined()
      await kubectl(['annotate', 'deployment', 'kubeapp', '-n', ns, 'test.edgecanary.dev/watch=1'])
      await waitFor('the annotation', async () => (seen.includes('1') ? true : undefined), 10_000, 20)
    } finally {
      stop()
    }
    const count = seen.length
    await kubectl(['annotate', 'deployment', 'kubeapp', '-n', ns, 'test.edgecanary.dev/watch-'])
    await new Promise((r) => setTimeout(r, 500))
    // stopped: the change after it never arrives
    expect(seen.length).toBe(count)
    expect(seen.every((a) => a === undefined || a === '1')).toBe(true)
  })

  it('Ctrl-C stops at a safe point with exit 130; status explains; release resumes to promotion', async () => {
    const child: ChildProcess = spawn(
      process.execPath,
      [
        cliEntry,
        'release',
        '3.0',
        '--image',
        tag('3.0'),
        '--interval',
        '2s',
        '--iterations',
        '2',
        '--load',
        '10',
      ],
      { env: sb.env, cwd: work, stdio: ['ignore', 'ignore', 'pipe'] },
    )
    let stderr = ''
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    await waitFor(
      'step 1 analysis',
      async () => {
        const c = await cluster.getDeployment(ns, 'kubeapp-canary')
        const s = await cluster.getDeployment(ns, 'kubeapp')
        return c?.status?.readyReplicas === 1 && s?.spec.replicas === 3 ? true : undefined
      },
      60_000,
      100,
    )
    const t = Date.now()
    child.kill('SIGINT')
    expect(await exited, stderr).toBe(130)
    expect(Date.now() - t).toBeLessThan(10_000)
    expect(stderr).toContain('interrupted')
    const st = await status()
    expect(st.phase).toBe('Interrupted')
    expect(st.advice).toContain('edgecanary release 3.0')
    // consistent: every pod it left is Ready, capacity kept
    const s = await cluster.getDeployment(ns, 'kubeapp')
    const c = await cluster.getDeployment(ns, 'kubeapp-canary')
    expect((s?.status?.readyReplicas ?? 0) + (c?.status?.readyReplicas ?? 0)).toBeGreaterThanOrEqual(4)

    const resumed = await ec(['release', '3.0', '--image', tag('3.0'), ...fast, '--json'])
    expect(resumed.status, resumed.stderr + resumed.stdout).toBe(0)
    expect(JSON.parse(resumed.stdout)).toMatchObject({ phase: 'Succeeded', resumed: true })
  })

  it('status, history, promote and abort find the release by its labels from a directory without edgecanary.yaml', async () => {
    expect(await status(elsewhere)).toMatchObject({ namespace: ns, phase: 'Succeeded', version: '3.0' })
    const h = await elsewhere(['history', '--json'])
    expect(h.status, h.stderr).toBe(0)
    const releases = (JSON.parse(h.stdout) as { releases: { version: string; phase: string }[] }).releases
    expect(releases).toContainEqual(expect.objectContaining({ version: '2.0', phase: 'Succeeded' }))
    expect(releases.at(-1)).toMatchObject({ version: '3.0', phase: 'Succeeded' })

    // abort from elsewhere, after one promote --step from elsewhere
    const paused = ec(['release', '3.1', '--image', tag('3.1'), ...fast, '--pause'])
    await waitPhase('Paused', elsewhere)
    const step = await elsewhere(['promote', '--step', '--json'])
    expect(step.status, step.stderr).toBe(0)
    expect(JSON.parse(step.stdout)).toMatchObject({ delegated: true })
    await waitFor(
      'step 2 paused',
      async () => {
        const s = await status(elsewhere)
        return s.phase === 'Paused' && s.ratio === '2:2' ? true : undefined
      },
      90_000,
      200,
    )
    const abort = await elsewhere(['abort', '--json'])
    expect(abort.status, abort.stderr).toBe(0)
    expect((await paused).status).toBe(1)
    expect(await status(elsewhere)).toMatchObject({ phase: 'Aborted', version: '3.1', ratio: '4:0' })

    // promote from elsewhere
    const again = ec(['release', '3.2', '--image', tag('3.2'), ...fast, '--pause'])
    await waitPhase('Paused', elsewhere)
    const promote = await elsewhere(['promote', '--json'])
    expect(promote.status, promote.stderr).toBe(0)
    const r = await again
    expect(r.status, r.stderr).toBe(0)
    expect(await status(elsewhere)).toMatchObject({ phase: 'Succeeded', version: '3.2', ratio: '4:0' })
  })

  it('verify --expect-version and --max-errors decide the exit code', async () => {
    const ok = await ec(['verify', '--requests', '20', '--rate', '100', '--expect-version', '3.2'])
    expect(ok.status, ok.stderr).toBe(0)
    const other = await ec(['verify', '--requests', '20', '--rate', '100', '--expect-version', '9.9'])
    expect(other.status).toBe(1)
    expect(other.stderr).toContain('expected only 9.9, saw 3.2 100%')

    // half the answers are 500s
    const flaky = await listen((n, res) => {
      res.setHeader('x-app-version', '3.2')
      res.statusCode = n % 2 ? 200 : 500
      res.end('3.2\n')
    })
    try {
      const url = ['--url', flaky.url, '--requests', '10', '--rate', '200', '--concurrency', '1']
      const strict = await ec(['verify', ...url, '--max-errors', '0'])
      expect(strict.status).toBe(1)
      expect(strict.stderr).toContain('5 request(s) failed (max 0)')
      const lenient = await ec(['verify', ...url, '--max-errors', '5', '--json'])
      expect(lenient.status, lenient.stderr).toBe(0)
      expect(JSON.parse(lenient.stdout)).toMatchObject({ errorCount: 5 })
      const both = await ec(['verify', ...url, '--max-errors', '5', '--expect-version', '3.2'])
      expect(both.status, both.stderr).toBe(0)
    } finally {
      flaky.server.close()
    }
  })

  it('several namespaces → exit 2 naming them; the kubeconfig context namespace decides; init --teardown removes what init made', async () => {
    const stagingDir = join(sb.home, 'staging')
    mkdirSync(stagingDir)
    const inStaging = (args: string[]) => runCli(args, { env: sb.env, cwd: stagingDir, timeoutMs: 180_000 })
    const init = await inStaging(['init', '-n', 'staging', '--replicas', '2', '--image', tag('1.0')])
    expect(init.status, init.stderr).toBe(0)

    const both = await elsewhere(['status'])
    expect(both.status).toBe(2)
    expect(both.stderr).toContain('kubeapp is deployed in several namespaces: production, staging')
    expect(both.stderr).toContain('-n NAMESPACE')

    // a kubeconfig whose context names a namespace: it wins over the label search
    const kc = parse(readFileSync(sb.kubeconfig, 'utf8')) as {
      'current-context': string
      contexts: { name: string; context: { namespace?: string } }[]
    }
    for (const c of kc.contexts) if (c.name === kc['current-context']) c.context.namespace = 'staging'
    const stagingKubeconfig = join(sb.home, 'kubeconfig-staging')
    writeFileSync(stagingKubeconfig, stringify(kc), { mode: 0o600 })
    const viaContext = await elsewhere(['status', '--json', '--kubeconfig', stagingKubeconfig])
    expect(viaContext.status, viaContext.stderr).toBe(0)
    expect(JSON.parse(viaContext.stdout)).toMatchObject({ namespace: 'staging', ratio: '2:0' })
    // the flag beats the context; edgecanary.yaml beats it too
    const viaFlag = await elsewhere(['status', '--json', '--kubeconfig', stagingKubeconfig, '-n', ns])
    expect(JSON.parse(viaFlag.stdout)).toMatchObject({ namespace: ns, version: '3.2' })
    const viaConfig = await ec(['status', '--json', '--kubeconfig', stagingKubeconfig])
    expect(JSON.parse(viaConfig.stdout)).toMatchObject({ namespace: ns, version: '3.2' })

    const td = await inStaging(['init', '--teardown', '--json'])
    expect(td.status, td.stdout + td.stderr).toBe(0)
    expect((JSON.parse(td.stdout) as { removed: string[] }).removed).toEqual(
      expect.arrayContaining(['deployment/kubeapp', 'service/kubeapp']),
    )
    expect(await cluster.getDeployment('staging', 'kubeapp')).toBeUndefined()
    expect(await cluster.getService('staging', 'kubeapp')).toBeUndefined()
    await waitFor(
      'staging pods gone',
      async () => ((await cluster.listPods('staging', 'app=kubeapp')).length === 0 ? true : undefined),
      60_000,
      200,
    )
    const again = await inStaging(['init', '--teardown', '--json'])
    expect(JSON.parse(again.stdout)).toEqual({ removed: [] })
    // one namespace again: found by labels
    expect(await status(elsewhere)).toMatchObject({ namespace: ns })
  })

  it('epoch: once a second holder took over the expired Lease, the first holder’s next write is refused by the fence', async () => {
    const floor = (epochOn(await cluster.getDeployment(ns, 'kubeapp'))?.n ?? -1) + 1
    // A renews every 10 s: long enough for its Lease to be made expired under it and taken over
    const a = await acquireLock(cluster, ns, 'kubeapp', 30, { identity: 'edgecanary@holder-a:1', floor })
    await a.claim('kubeapp')
    await a.patch('kubeapp', { metadata: { annotations: { 'test.edgecanary.dev/by': 'a' } } })

    // A stalls: its Lease expires, and B takes it over (a new epoch) and claims the Deployment
    const lease = await cluster.getLease(ns, 'edgecanary-kubeapp')
    if (!lease) throw new Error('no lease')
    const old = new Date(Date.now() - 60_000).toISOString().replace('Z', '000Z')
    expect(
      await cluster.replaceLease(ns, { ...lease, spec: { ...lease.spec, renewTime: old } }),
    ).toBeDefined()
    const b = await acquireLock(cluster, ns, 'kubeapp', 30, { identity: 'edgecanary@holder-b:2' })
    expect(b.epoch.n).toBe(a.epoch.n + 1)
    await b.claim('kubeapp')
    const before = await cluster.getDeployment(ns, 'kubeapp')
    expect(before?.metadata.annotations?.[EPOCH_ANNOTATION]).toBe(`${b.epoch.n}/edgecanary@holder-b:2`)

    // A wakes up and writes without asking the Lease first: the Deployment itself refuses it
    const write = a.patch('kubeapp', {
      spec: { replicas: 1 },
      metadata: { annotations: { 'test.edgecanary.dev/by': 'a-late' } },
    })
    await expect(write).rejects.toBeInstanceOf(LockHeld)
    await expect(write).rejects.toThrow(/taken over by edgecanary@holder-b:2/)
    await expect(a.claim('kubeapp')).rejects.toBeInstanceOf(LockHeld)
    const after = await cluster.getDeployment(ns, 'kubeapp')
    expect(after?.spec.replicas).toBe(4)
    expect(after?.metadata.annotations?.['test.edgecanary.dev/by']).toBe('a')

    // the fence is one step for the API server: a write on a stale resourceVersion is a conflict
    await b.patch('kubeapp', { metadata: { annotations: { 'test.edgecanary.dev/by': 'b' } } })
    expect(
      await cluster.patchDeploymentIf(ns, 'kubeapp', before?.metadata.resourceVersion ?? '', {
        spec: { replicas: 1 },
      }),
    ).toBeUndefined()
    await b.patch('kubeapp', { metadata: { annotations: { 'test.edgecanary.dev/by': null } } })
    await b.release()
    await a.release()
    expect((await cluster.getDeployment(ns, 'kubeapp'))?.spec.replicas).toBe(4)
  })

  it('a fenced claim against the version last seen is one request; a fenced write is one request whatever changed since, and refused without our epoch', async () => {
    // the real adapter, with its Deployment reads and writes counted
    const calls = { get: 0, patch: 0, json: 0 }
    let leaseWrites = 0
    const counted: Cluster = {
      ...cluster,
      replaceLease: (n, lease) => {
        leaseWrites++
        return cluster.replaceLease(n, lease)
      },
      getDeployment: (n, name) => {
        calls.get++
        return cluster.getDeployment(n, name)
      },
      patchDeploymentIf: (n, name, rv, patch) => {
        calls.patch++
        return cluster.patchDeploymentIf(n, name, rv, patch)
      },
      patchDeploymentJson: (n, name, ops) => {
        calls.json++
        return cluster.patchDeploymentJson(n, name, ops)
      },
    }
    const reset = () => Object.assign(calls, { get: 0, patch: 0, json: 0 })
    const floor = (epochOn(await cluster.getDeployment(ns, 'kubeapp'))?.n ?? -1) + 1
    const lock = await acquireLock(counted, ns, 'kubeapp', 30, { identity: 'edgecanary@holder-c:3', floor })
    const mine = `${lock.epoch.n}/edgecanary@holder-c:3`
    try {
      lock.saw(await cluster.getDeployment(ns, 'kubeapp'))
      await lock.claim('kubeapp')
      expect(calls).toEqual({ get: 0, patch: 1, json: 0 })
      // written since by someone else (kubectl, the Deployment controller): still one request
      await lock.patch('kubeapp', { metadata: { annotations: { 'test.edgecanary.dev/by': 'c1' } } })
      await kubectl(['annotate', 'deployment', 'kubeapp', '-n', ns, 'test.edgecanary.dev/other=x'])
      reset()
      await lock.patch('kubeapp', {
        spec: { replicas: 4 },
        metadata: { annotations: { 'test.edgecanary.dev/by': 'c2', 'test.edgecanary.dev/absent': null } },
      })
      expect(calls).toEqual({ get: 0, patch: 0, json: 1 })
      const d = await cluster.getDeployment(ns, 'kubeapp')
      expect(d?.metadata.annotations?.['test.edgecanary.dev/by']).toBe('c2')
      expect(d?.metadata.annotations?.['test.edgecanary.dev/other']).toBe('x')
      expect(d?.metadata.annotations).not.toHaveProperty('test.edgecanary.dev/absent')
      expect(d?.metadata.annotations?.[EPOCH_ANNOTATION]).toBe(mine)

      // our epoch taken off by hand: the write does not apply, is read again and refused
      await kubectl(['annotate', 'deployment', 'kubeapp', '-n', ns, `${EPOCH_ANNOTATION}-`])
      reset()
      await expect(
        lock.patch('kubeapp', { metadata: { annotations: { 'test.edgecanary.dev/by': 'c3' } } }),
      ).rejects.toBeInstanceOf(LockHeld)
      expect(calls).toEqual({ get: 1, patch: 0, json: 1 })
      const after = await cluster.getDeployment(ns, 'kubeapp')
      expect(after?.metadata.annotations?.['test.edgecanary.dev/by']).toBe('c2')
      await kubectl([
        'annotate',
        'deployment',
        'kubeapp',
        '-n',
        ns,
        'test.edgecanary.dev/by-',
        'test.edgecanary.dev/other-',
      ])
    } finally {
      // let go once, however often asked (the engine does so when a release is over and on its way out)
      leaseWrites = 0
      await Promise.all([lock.release(), lock.release()])
      await lock.release()
    }
    expect(leaseWrites).toBe(1)
    expect((await cluster.getLease(ns, 'edgecanary-kubeapp'))?.spec.holderIdentity).toBeFalsy()
  })

  it('epoch, with real processes: a stopped release whose Lease expired is taken over by abort, and exits 3 when it wakes', async () => {
    // a 2 s Lease, so that a stopped holder expires quickly
    const shortLease = join(work, 'short-lease.yaml')
    const cfg = parse(readFileSync(join(work, 'edgecanary.yaml'), 'utf8')) as Record<string, unknown>
    writeFileSync(shortLease, stringify({ ...cfg, leaseDuration: '2s' }))
    const child: ChildProcess = spawn(
      process.execPath,
      [cliEntry, 'release', '4.0', '--image', tag('4.0'), ...fast, '--pause', '--config', shortLease],
      { env: sb.env, cwd: work, stdio: ['ignore', 'ignore', 'pipe'] },
    )
    let stderr = ''
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    try {
      await waitPhase('Paused')
      child.kill('SIGSTOP')
      await new Promise((r) => setTimeout(r, 3000))
      // the stopped holder is not gone by its PID (it lives), only by its expired Lease
      const abort = await ec(['abort', '--config', shortLease, '--json'])
      expect(abort.status, abort.stderr).toBe(0)
      expect(JSON.parse(abort.stdout)).toMatchObject({ delegated: false, phase: 'Aborted' })
      expect(await status()).toMatchObject({ phase: 'Aborted', version: '4.0', ratio: '4:0' })
    } finally {
      child.kill('SIGCONT')
    }
    expect(await exited, stderr).toBe(3)
    expect(stderr).toMatch(/taken over by edgecanary@/)
    // its late write was refused: the state is still the one abort left
    expect(await status()).toMatchObject({ phase: 'Aborted', version: '4.0', ratio: '4:0' })
    expect((await cluster.getDeployment(ns, 'kubeapp-canary'))?.spec.replicas).toBe(0)
  })

  it('Slack, Teams and Discord webhooks receive their own payload shapes over real HTTP', async () => {
    const hook = await listen()
    const event: ReleaseEvent = {
      app: 'kubeapp',
      namespace: ns,
      version: '2.0',
      previousVersion: '1.0',
      phase: 'RolledBack',
      step: 1,
      weight: 25,
      stable: 3,
      canary: 1,
      reason: 'canary answered HTTP 500',
      at: '2026-01-01T00:00:00.000Z',
    }
    try {
      for (const kind of ['slack', 'teams', 'discord'] as WebhookKind[])
        await notify([`${hook.url}/${kind}`], event, { kind })
    } finally {
      hook.server.close()
    }
    const line = 'kubeapp 2.0 RolledBack — step 1: 3:1 (25%) — canary answered HTTP 500 [production]'
    expect(hook.bodies).toEqual([
      { text: line },
      // Teams Workflows: an Adaptive Card (its whole shape: src/release/notify.test.ts)
      {
        type: 'message',
        attachments: [
          expect.objectContaining({
            contentType: 'application/vnd.microsoft.card.adaptive',
            content: expect.objectContaining({ type: 'AdaptiveCard', version: '1.4' }),
          }),
        ],
      },
      {
        content: line,
        embeds: [
          {
            title: 'kubeapp 2.0: RolledBack',
            description: 'canary answered HTTP 500',
            timestamp: '2026-01-01T00:00:00.000Z',
          },
        ],
      },
    ])
  })

  it('history: a replace names the version it read; a stale one is refused, and appendHistory reads again', async () => {
    const app = 'histapp'
    const name = historyName(app)
    await cluster.applyConfigMap('default', { metadata: { name }, data: { releases: '[]' } })
    const v1 = (await cluster.getConfigMap('default', name))?.metadata.resourceVersion
    expect(v1).toBeTruthy()
    const replaceV1 = () =>
      cluster.replaceConfigMap('default', {
        metadata: { name, resourceVersion: v1 },
        data: { releases: '[]' },
      })
    expect(await replaceV1()).toBeDefined()
    // v1 is gone now: a replace of it would overwrite what was written in between
    expect(await replaceV1()).toBeUndefined()
    const entry = (version: string) =>
      ({ app, namespace: 'default', version, phase: 'Succeeded' }) as unknown as ReleaseState
    await Promise.all([appendHistory(cluster, entry('1.0')), appendHistory(cluster, entry('2.0'))])
    expect((await readHistory(cluster, 'default', app)).map((r) => r.version).sort()).toEqual(['1.0', '2.0'])
    // the read a promotion makes early, gone stale by the time it appends: the entry written
    // in between is kept
    const early = cluster.getConfigMap('default', name)
    await early
    await appendHistory(cluster, entry('3.0'))
    await appendHistory(cluster, entry('4.0'), early)
    expect((await readHistory(cluster, 'default', app)).map((r) => r.version).sort()).toEqual([
      '1.0',
      '2.0',
      '3.0',
      '4.0',
    ])
    await cluster.deleteConfigMap('default', name)
  })

  function kubectl(args: string[]): Promise<string> {
    return new Promise((resolve, reject) =>
      execFile('kubectl', args, { env: sb.env }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
    )
  }

  function kubectlJson<T>(args: string[]): Promise<T> {
    return new Promise((resolve, reject) =>
      execFile('kubectl', args, { env: sb.env, maxBuffer: 64 << 20 }, (err, stdout) =>
        err ? reject(err) : resolve(JSON.parse(stdout) as T),
      ),
    )
  }
})

describe('release --help', () => {
  it('states every default the design lists', async () => {
    const r = await runCli(['release', '--help'])
    expect(r.status, r.stderr).toBe(0)
    const help = r.stdout.replace(/\s+/g, ' ')
    for (const d of [
      'analysis interval 10s × 3 iterations per step',
      'failed-check threshold 2',
      'built-in load 10 req/s',
      '--load 0 turns it off',
      'minimum sample size 5 canary responses per interval',
      'success rate ≥ 99 %',
      'p99 ≤ 500 ms',
      'progress deadline 60s',
      'readiness deadline 60s',
      'Lease 15s',
      '--skip-preflight',
    ])
      expect(help).toContain(d)
  })
})
