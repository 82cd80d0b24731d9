import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { connectCluster } from '../../src/adapters/kube-cluster.js'
import type { Cluster, Pod } from '../../src/ports.js'
import { REQUEST_ANNOTATION, type ReleaseState, readState, versionOfImage } from '../../src/release/state.js'
import { releaseStatus } from '../../src/release/status.js'
import { type CliResult, runCli } from '../helpers/cli.js'
import { pushSampleApp } from '../helpers/images.js'
import { waitFor } from '../helpers/ports.js'
import { cliEntry, repoRoot, startSandbox, type TestSandbox } from '../helpers/sandbox.js'

interface VerifyJson {
  requests: number
  versions: Record<string, { count: number; share: number; errors: number }>
  errorCount: number
  errors: { kind: string; count: number }[]
  p50Ms?: number
  p99Ms?: number
}

/** What users saw over a whole scenario: the sum of back-to-back `verify` runs. */
interface Users {
  requests: number
  versions: Record<string, number>
  errors: Record<string, number>
  errorCount: number
  /** The highest p99 of any run (an upper bound of the whole scenario's p99). */
  p99MaxMs: number
  /** Versions per run, in order: `1.0:60 | 1.0:45 2.0:15 | …`. */
  timeline: string
}

interface StatusJson {
  phase: string
  version?: string
  step?: string
  ratio: string
  stable: { replicas: number; ready: number; image?: string }
  canary: { replicas: number; ready: number; image?: string }
  holder?: string
  reason?: string
  advice?: string
  drift?: string
}

interface HistoryJson {
  releases: {
    version: string
    phase: string
    reason?: string
    timings?: { failureSeenAt?: string; rollbackDoneAt?: string }
  }[]
}

/** What a poller saw while a release ran (every `everyMs`). */
interface Timeline {
  /** `stable:canary` ready counts seen while both Deployments were settled. */
  ratios: Set<string>
  /** Phases in order, with the engine's own write time (`updatedAt`, ms). */
  phases: { phase: string; step: number; at: number }[]
  /** Test clock: the first moment a canary pod was Ready, i.e. an endpoint of the Service. */
  canaryReadyAt?: number
  /** Fewest Ready pods of the app (stable + canary) at any poll. */
  minReady: number
  /** Fewest stable replicas asked for (spec) at any poll. */
  minStableSpec: number
  /** Steps during whose analysis the canary already asked for the next step's pods. */
  warmed: Set<number>
  /** Polls where more canary pods were Ready (in the Service) than the current step allows. */
  overServed: string[]
  /** `status` while pods warmed: the step's own ratio and the warming count, as users would read them. */
  warmingStatus: string[]
}

interface KubeItem {
  kind: string
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }
  spec?: {
    replicas?: number
    holderIdentity?: string
    template?: { spec: { containers: { image: string }[] } }
    containers?: { image: string }[]
  }
  status?: {
    readyReplicas?: number
    updatedReplicas?: number
    replicas?: number
    conditions?: { type: string; status: string }[]
  }
}

const RATE = 20
/** Seconds per `verify` run; runs start back to back on a fixed clock, so coverage has no gaps. */
const CHUNK_S = 4
const REPLICAS = 4

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const isReady = (p: Pod) =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false

// Each scenario of issue 5 asserts four things: the exit code, the cluster state (the API and
// kubectl: stable at full strength and Ready, canary at 0, image kept or promoted, no orphans,
// lease released), `status --json`, and what users saw through concurrent `verify` at 20 req/s.
describe('edgecanary release on the sandbox', () => {
  let sb: TestSandbox
  let cluster: Cluster
  let work: string
  let url: string
  let initOut: CliResult
  const ns = 'production'
  const app = 'kubeapp'
  const report: string[] = []
  const ec = (args: string[], timeoutMs = 180_000) => runCli(args, { env: sb.env, cwd: work, timeoutMs })
  /** The fast analysis every scenario uses unless it needs otherwise: 1 s × 1 per step. */
  const fast = ['--interval', '1s', '--iterations', '1', '--load', '20']

  const kubectl = (args: string[], input?: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const p = execFile('kubectl', args, { env: sb.env, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
      )
      p.stdin?.end(input ?? '')
    })

  const status = async (): Promise<StatusJson> => {
    const r = await ec(['status', '--json'])
    expect(r.status, r.stderr).toBe(0)
    return JSON.parse(r.stdout) as StatusJson
  }
  const history = async () => JSON.parse((await ec(['history', '--json'])).stdout) as HistoryJson

  /** The stable Deployment's image now, and its version as users see it. */
  const stableNow = async () => {
    const d = await cluster.getDeployment(ns, app)
    const image = d?.spec.template.spec.containers[0]?.image ?? ''
    return { image, version: versionOfImage(image) ?? '?', resourceVersion: d?.metadata.resourceVersion }
  }

  /**
   * Runs `work` while users call the Service: `verify --rate 20 --json` runs of CHUNK_S seconds
   * start on a fixed clock until `work` ends (the last one covers up to CHUNK_S after it), and
   * their reports are summed. Fresh CLI processes, as a second terminal on a laptop would be.
   */
  async function withUsers<T>(work: () => Promise<T>): Promise<{ value: T; users: Users }> {
    const runs: Promise<CliResult>[] = []
    let done = false
    const t0 = Date.now()
    const starter = (async () => {
      for (let k = 0; !done; k++) {
        runs.push(
          ec([
            'verify',
            '--url',
            url,
            '--requests',
            String(CHUNK_S * RATE),
            '--rate',
            String(RATE),
            '--json',
          ]),
        )
        await sleep(Math.max(0, t0 + (k + 1) * CHUNK_S * 1000 - Date.now()))
      }
    })()
    let value: T
    try {
      value = await work()
    } finally {
      done = true
      await starter
    }
    const users: Users = { requests: 0, versions: {}, errors: {}, errorCount: 0, p99MaxMs: 0, timeline: '' }
    const parts: string[] = []
    for (const r of await Promise.all(runs)) {
      expect(r.status, r.stderr).toBe(0)
      const v = JSON.parse(r.stdout) as VerifyJson
      users.requests += v.requests
      users.errorCount += v.errorCount
      users.p99MaxMs = Math.max(users.p99MaxMs, v.p99Ms ?? 0)
      // versions that answered successfully (a version's 5xx are in errors, as before)
      const answered = Object.entries(v.versions).filter(([, x]) => x.count > 0)
      for (const [ver, x] of answered) users.versions[ver] = (users.versions[ver] ?? 0) + x.count
      for (const e of v.errors) users.errors[e.kind] = (users.errors[e.kind] ?? 0) + e.count
      parts.push(
        [
          ...answered.map(([ver, x]) => `${ver}:${x.count}`),
          ...v.errors.map((e) => `${e.kind}:${e.count}`),
        ].join(' '),
      )
    }
    users.timeline = parts.join(' | ')
    // every run was complete: users were measured for the whole scenario
    expect(users.requests).toBe(runs.length * CHUNK_S * RATE)
    return { value, users }
  }

  /** Polls the Deployments, the state annotation and the pods every `everyMs` until stopped. */
  function watch(everyMs = 300): { stop(): Promise<Timeline> } {
    const t: Timeline = {
      ratios: new Set(),
      phases: [],
      minReady: Number.POSITIVE_INFINITY,
      minStableSpec: 99,
      warmed: new Set(),
      overServed: [],
      warmingStatus: [],
    }
    let on = true
    const loop = (async () => {
      while (on) {
        const [s, c, pods] = await Promise.all([
          cluster.getDeployment(ns, app),
          cluster.getDeployment(ns, `${app}-canary`),
          cluster.listPods(ns, `app=${app}`),
        ]).catch(() => [undefined, undefined, undefined] as const)
        if (s && pods) {
          // the split users get: Ready stable and canary pods once the stable has settled (canary
          // pods warming for the next step run, but are not Ready: the gate holds them out)
          const canaryLive = pods.filter(
            (p) => p.metadata.labels?.track === 'canary' && !p.metadata.deletionTimestamp,
          )
          const canaryReady = canaryLive.filter(isReady).length
          const gated = canaryLive.filter((p) =>
            p.status?.conditions?.some((x) => x.type === 'edgecanary.dev/gate' && x.status === 'True'),
          ).length
          if (s.spec.replicas === s.status?.readyReplicas && canaryReady === gated)
            t.ratios.add(`${s.status?.readyReplicas ?? 0}:${canaryReady}`)
          const st = readState(s)
          const step = st?.phase === 'Progressing' ? st.steps[st.step] : undefined
          if (step && (c?.spec.replicas ?? 0) > step.canary) {
            t.warmed.add(st?.step ?? -1)
            const report = await releaseStatus(cluster, ns, app).catch(() => undefined)
            if (report?.canary.warming) t.warmingStatus.push(`${report.ratio} +${report.canary.warming}`)
          }
          if (step && canaryReady > step.canary)
            t.overServed.push(
              `step ${(st?.step ?? 0) + 1}: ${canaryReady} canary pods Ready, plan ${step.canary}`,
            )
          const last = t.phases.at(-1)
          if (st && (last?.phase !== st.phase || last.step !== st.step))
            t.phases.push({ phase: st.phase, step: st.step, at: Date.parse(st.updatedAt) })
          const ready = pods.filter(isReady)
          if (t.canaryReadyAt === undefined && ready.some((p) => p.metadata.labels?.track === 'canary'))
            t.canaryReadyAt = Date.now()
          t.minReady = Math.min(t.minReady, ready.length)
          t.minStableSpec = Math.min(t.minStableSpec, s.spec.replicas ?? 0)
        }
        await sleep(everyMs)
      }
    })()
    return {
      async stop() {
        on = false
        await loop
        return t
      },
    }
  }

  /** Pod processes this sandbox runs from its image store (each pod's entrypoint under qemu). */
  const podProcesses = () => {
    const store = join(sb.home, 'sandbox', 'images', 'rootfs')
    let n = 0
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(store)) n++
      } catch {
        // gone meanwhile
      }
    }
    return n
  }

  /**
   * The release left a consistent cluster: the stable Deployment at full strength, Ready, on
   * `image`, right away; then (once the canary's pods have drained) only the stable's pods and
   * their processes, the canary at 0, no pending request annotation, and the Lease released,
   * as kubectl (an independent client) sees it.
   */
  async function expectSettled(image: string): Promise<void> {
    const st = await cluster.getDeployment(ns, app)
    expect(st?.spec.replicas).toBe(REPLICAS)
    expect(st?.status?.readyReplicas).toBe(REPLICAS)
    expect(st?.spec.template.spec.containers[0]?.image).toBe(image)
    await waitFor(
      `only the ${REPLICAS} stable pods left`,
      async () => {
        const pods = await cluster.listPods(ns, `app=${app}`)
        return pods.length === REPLICAS &&
          pods.every((p) => p.metadata.labels?.track === 'stable' && !p.metadata.deletionTimestamp) &&
          podProcesses() === REPLICAS
          ? true
          : undefined
      },
      30_000,
      250,
    )
    const k = await kubectl(['get', 'deployments,pods,leases', '-n', ns, '-o', 'json'])
    expect(k.code, k.stderr).toBe(0)
    const items = (JSON.parse(k.stdout) as { items: KubeItem[] }).items
    const one = (kind: string, name: string) => items.find((i) => i.kind === kind && i.metadata.name === name)
    const stable = one('Deployment', app)
    expect(stable?.spec?.replicas).toBe(REPLICAS)
    expect(stable?.status?.readyReplicas).toBe(REPLICAS)
    expect(stable?.status?.updatedReplicas).toBe(REPLICAS)
    expect(stable?.spec?.template?.spec.containers[0]?.image).toBe(image)
    expect(stable?.metadata.annotations?.[REQUEST_ANNOTATION]).toBeUndefined()
    const canary = one('Deployment', `${app}-canary`)
    expect(canary?.spec?.replicas ?? 0).toBe(0)
    expect(canary?.status?.replicas ?? 0).toBe(0)
    const pods = items.filter((i) => i.kind === 'Pod' && i.metadata.labels?.app === app)
    expect(pods.map((p) => p.metadata.labels?.track)).toEqual(Array(REPLICAS).fill('stable'))
    for (const p of pods) {
      expect(p.spec?.containers?.[0]?.image).toBe(image)
      expect(p.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True')
    }
    expect(one('Lease', `edgecanary-${app}`)?.spec?.holderIdentity || undefined).toBeUndefined()
  }

  const note = (scenario: string, t0: number, users: Users, extra = '') =>
    report.push(
      `${scenario}: ${((Date.now() - t0) / 1000).toFixed(1)}s; users ${users.requests} req, ${users.errorCount} failed${users.errorCount ? ` ${JSON.stringify(users.errors)}` : ''}, p99≤${users.p99MaxMs}ms; ${users.timeline}${extra ? `; ${extra}` : ''}`,
    )

  beforeAll(async () => {
    sb = await startSandbox({ nodes: 4, backoffBaseMs: 1000 })
    work = join(sb.home, 'work')
    mkdirSync(work)
    cluster = connectCluster({ kubeconfig: sb.kubeconfig })
    // shared setup: every scenario starts from an initialized app (so `-t` runs one alone)
    initOut = await ec(['init', '--version', '1.0', '--source', join(repoRoot, 'sample-app'), '--json'])
    if (initOut.status !== 0) throw new Error(`init failed: ${initOut.stderr}`)
    url = (JSON.parse(initOut.stdout) as { url: string }).url
  }, 180_000)
  afterAll(async () => {
    if (report.length) console.log(`release scenarios:\n  ${report.join('\n  ')}`)
    await sb?.stop()
  })

  it('init deployed 1.0 behind a LoadBalancer, wrote edgecanary.yaml, and is idempotent; --dry-run changes nothing', async () => {
    const out = JSON.parse(initOut.stdout) as { url: string; image: string }
    expect(out.image).toMatch(/kubeapp:1\.0@sha256:[0-9a-f]{64}$/)
    expect(await (await fetch(`${out.url}/version`)).text()).toBe('1.0\n')
    const cfg = parse(readFileSync(join(work, 'edgecanary.yaml'), 'utf8')) as {
      app: string
      namespace: string
      repository: string
    }
    expect(cfg).toMatchObject({ app, namespace: ns, repository: `${sb.registry}/kubeapp` })

    const before = await cluster.getDeployment(ns, app)
    const dry = await ec(['init', '--version', '1.0', '--source', join(repoRoot, 'sample-app'), '--dry-run'])
    expect(dry.status, dry.stderr).toBe(0)
    expect(dry.stdout).toContain('kind: Deployment')
    expect((await cluster.getDeployment(ns, app))?.metadata.resourceVersion).toBe(
      before?.metadata.resourceVersion,
    )
    const again = await ec(['init', '--version', '1.0', '--source', join(repoRoot, 'sample-app'), '--json'])
    expect(again.status, again.stderr).toBe(0)
    expect((await cluster.getDeployment(ns, app))?.metadata.generation).toBe(before?.metadata.generation)
    await expectSettled(out.image)
  })

  it('1. happy path: 3:1 → 2:2 → 1:3 → promoted, 0 failed requests, history has it', async () => {
    const t0 = Date.now()
    const prev = await stableNow()
    const w = watch()
    const { value: r, users } = await withUsers(() => ec(['release', '2.0', ...fast, '--json']))
    const t = await w.stop()
    expect(r.status, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as { phase: string; durationMs: number; podStartMs: number }
    // three canary pod starts and the promotion's: counted apart from edgecanary's own time
    expect(out.podStartMs).toBeGreaterThan(0)
    expect(out.podStartMs).toBeLessThan(out.durationMs)
    expect(out).toMatchObject({
      phase: 'Succeeded',
      version: '2.0',
      steps: [
        { stable: 3, canary: 1 },
        { stable: 2, canary: 2 },
        { stable: 1, canary: 3 },
      ],
    })
    for (const ratio of ['3:1', '2:2', '1:3']) expect(t.ratios).toContain(ratio)
    // the pods of steps 2 and 3 started during the analysis before them, out of the Service
    expect([...t.warmed].sort()).toEqual([0, 1])
    // status shows the split of the step and the pods warming for the next one
    expect(t.warmingStatus.length).toBeGreaterThan(0)
    for (const seen of t.warmingStatus) expect(['3:1 +1', '2:2 +1']).toContain(seen)
    expect(t.overServed).toEqual([])
    expect(t.minReady).toBeGreaterThanOrEqual(REPLICAS) // capacity never dropped
    expect(users.errorCount, JSON.stringify(users.errors) + users.timeline).toBe(0)
    expect(Object.keys(users.versions).sort()).toEqual([prev.version, '2.0'])
    const now = await stableNow()
    expect(now.image).toMatch(/kubeapp:2\.0@sha256:/)
    await expectSettled(now.image)
    expect(await status()).toMatchObject({ phase: 'Succeeded', version: '2.0', ratio: '4:0' })
    expect((await history()).releases.at(-1)).toMatchObject({ version: '2.0', phase: 'Succeeded' })
    // afterwards users see only 2.0
    const after = JSON.parse(
      (await ec(['verify', '--url', url, '--requests', '40', '--rate', '100', '--json'])).stdout,
    )
    expect(after).toMatchObject({ errorCount: 0, versions: { '2.0': { count: 40, share: 100, errors: 0 } } })
    expect(Object.keys(after.versions)).toEqual(['2.0'])
    // re-running a finished release is a no-op
    const again = await ec(['release', '2.0', ...fast, '--json'])
    expect(again.status).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({ noop: true })
    expect((await stableNow()).resourceVersion).toBe(now.resourceVersion)
    note('1 happy path', t0, users, `ratios ${[...t.ratios].join(' ')}`)
  }, 240_000)

  /** A release that must roll back by itself: exit 1, reason, stable kept, users measured. */
  async function badRelease(version: string, args: string[], everyMs?: number) {
    const prev = await stableNow()
    const w = watch(everyMs)
    const { value: r, users } = await withUsers(() => ec(['release', version, ...args]))
    const t = await w.stop()
    expect(r.status, r.stderr).toBe(1)
    await expectSettled(prev.image)
    const st = await status()
    expect(st).toMatchObject({ phase: 'RolledBack', version, ratio: '4:0' })
    expect(t.minReady).toBeGreaterThanOrEqual(1) // never a Service without a Ready endpoint
    expect(Object.keys(users.versions).every((v) => v === prev.version || v === version)).toBe(true)
    // history keeps the rolled-back release with the engine's failure → rollback-done timings
    const h = (await history()).releases.at(-1)
    expect(h).toMatchObject({ version, phase: 'RolledBack', reason: st.reason })
    const timings = h?.timings ?? {}
    const rollbackMs = Date.parse(timings.rollbackDoneAt ?? '') - Date.parse(timings.failureSeenAt ?? '')
    expect(rollbackMs).toBeGreaterThanOrEqual(0)
    return { r, users, st, t, prev, timings, rollbackMs }
  }

  it('2. HEALTH_STATUS=500 stops at the pre-traffic gate and rolls back with 0 failed user requests', async () => {
    const t0 = Date.now()
    const { r, users, st, prev, t, rollbackMs } = await badRelease('2.1', [
      ...fast,
      '--env',
      'HEALTH_STATUS=500',
    ])
    expect(r.stderr).toContain('pre-traffic gate')
    expect(r.stderr).toContain('/health answered 500')
    expect(st.reason).toContain('/health answered 500')
    expect(t.canaryReadyAt).toBeUndefined() // never an endpoint
    expect(t.minReady).toBeGreaterThanOrEqual(REPLICAS)
    expect(users.errorCount, JSON.stringify(users.errors) + users.timeline).toBe(0)
    expect(Object.keys(users.versions)).toEqual([prev.version])
    note('2 HEALTH_STATUS=500', t0, users, `failure seen → rollback done ${rollbackMs}ms`)
  }, 180_000)

  it('3. FAIL_RATE=0.5: the success-rate gate rolls back within one interval of the canary taking traffic', async () => {
    const t0 = Date.now()
    const interval = 1000
    const { r, users, st, t, timings } = await badRelease('2.2', [...fast, '--env', 'FAIL_RATE=0.5'], 100)
    // sample-app fails request n when floor(n·rate) > floor((n−1)·rate): its first request (the
    // gate's /version probe) succeeds, so the canary passes the gate and takes user traffic; its
    // second request fails. The verdict comes from the requests through the Service and names the
    // canary's success rate (a canary 5xx decides at once, without waiting for the interval's end).
    expect(st.reason).not.toMatch(/pre-traffic gate/)
    const m = /success rate ([\d.]+)% < 99%/.exec(st.reason ?? '')
    expect(m, st.reason).not.toBeNull()
    expect(Number(m?.[1])).toBeLessThan(99)
    expect(r.stderr).toContain(`rolled back: ${st.reason}`)
    expect(t.canaryReadyAt, 'the canary pod never became an endpoint').toBeDefined()
    const inService = t.canaryReadyAt ?? 0
    const rollbackStart = t.phases.find((p) => p.phase === 'RollingBack')?.at ?? Number.NaN
    const failureSeen = Date.parse(timings.failureSeenAt ?? '')
    const done = Date.parse(timings.rollbackDoneAt ?? '')
    // "within one interval": the success-rate gate judges the first interval in which the canary
    // takes traffic, so rollback starts at most one interval (1 s) after the canary became an
    // endpoint. The 1 s slack: the engine looks at its samples every 250 ms and needs API round
    // trips (lease check, pods, state write) on a shared 2-core machine, and a canary gets 1 in 4
    // of the 20 req/s built-in load, so its first failing answer comes ~0.4 s after it joins; the
    // poller sees Ready up to 100 ms late, which only shortens what is measured.
    const slack = 1000
    expect(failureSeen - inService).toBeLessThanOrEqual(interval + slack)
    expect(rollbackStart - inService).toBeLessThanOrEqual(interval + slack)
    expect(rollbackStart).toBeGreaterThanOrEqual(failureSeen)
    expect(done).toBeGreaterThan(rollbackStart)
    // users: failures only from the canary while it was in the Service (never a refused
    // connection), and at most half of what users sent meanwhile (the canary had ≤ 1/4 of it)
    const window = (done - inService) / 1000 + 3 // + the canary's 2 s drain after scale-to-0
    expect(Object.keys(users.errors).every((k) => k === 'HTTP 500')).toBe(true)
    expect(users.errorCount).toBeLessThanOrEqual(Math.ceil(RATE * window * 0.5))
    note(
      '3 FAIL_RATE=0.5',
      t0,
      users,
      `reason "${st.reason}"; in Service→failure seen ${failureSeen - inService}ms, →rollback start ${rollbackStart - inService}ms, →rollback done ${done - inService}ms`,
    )
  }, 180_000)

  it('4. LATENCY_MS=800: the latency gate rolls back; users saw the slow canary only meanwhile', async () => {
    const t0 = Date.now()
    // 40 req/s of built-in load: ≥ 5 canary samples (the minimum) per 1 s interval at 800 ms each.
    // With 1 iteration per step and the failed-check threshold 2, the failures of two steps add up.
    const { r, users, st, rollbackMs } = await badRelease('2.3', [
      '--interval',
      '1s',
      '--iterations',
      '1',
      '--load',
      '40',
      '--env',
      'LATENCY_MS=800',
    ])
    expect(r.stderr).toContain('p99 latency')
    expect(st.reason).toMatch(/canary p99 latency \d+ms > 500ms/)
    // users met the slow canary (p99 of some verify run ≥ 800 ms) but no request failed: every
    // answer came within verify's 2 s timeout
    expect(users.versions['2.3']).toBeGreaterThan(0)
    expect(users.p99MaxMs).toBeGreaterThanOrEqual(800)
    expect(users.errorCount, JSON.stringify(users.errors) + users.timeline).toBe(0)
    note('4 LATENCY_MS=800', t0, users, `reason "${st.reason}"; failure seen → rollback done ${rollbackMs}ms`)
  }, 180_000)

  it('5. CRASH_AFTER_S=2 fails fast on CrashLoopBackOff, naming it', async () => {
    const t0 = Date.now()
    // 3 s intervals: the canary crashes 2 s after it starts, during its first step
    const { r, users, st, rollbackMs } = await badRelease('2.4', [
      '--interval',
      '3s',
      '--iterations',
      '3',
      '--load',
      '20',
      '--env',
      'CRASH_AFTER_S=2',
    ])
    expect(r.stderr).toContain('CrashLoopBackOff')
    expect(st.reason).toContain('CrashLoopBackOff')
    // the evidence keeps the fast-fail: an event of its own in the release's timeline
    const rep = JSON.parse((await ec(['report', '2.4', '--json'])).stdout) as {
      phase: string
      events: { kind: string; text: string }[]
    }
    expect(rep.phase).toBe('RolledBack')
    expect(rep.events.filter((e) => e.kind === 'fast-fail').map((e) => e.text)).toEqual([
      expect.stringContaining('CrashLoopBackOff'),
    ])
    // a container that dies is in the Service until its endpoint goes (as in Kubernetes): the few
    // users whose connection raced that see a refused or reset connection; nothing else
    expect(Object.keys(users.errors).every((k) => /ECONNREFUSED|ECONNRESET|socket hang up/.test(k))).toBe(
      true,
    )
    expect(users.errorCount).toBeLessThanOrEqual(5)
    note(
      '5 CRASH_AFTER_S=2',
      t0,
      users,
      `reason "${st.reason}"; failure seen → rollback done ${rollbackMs}ms`,
    )
  }, 180_000)

  /** A refusal before anything changes: exit 2, the stable untouched, status as before, users unaffected. */
  async function refused(run: () => Promise<CliResult[]>) {
    const prev = await stableNow()
    const canary = (await cluster.getDeployment(ns, `${app}-canary`))?.metadata.resourceVersion
    const before = await status()
    const { value, users } = await withUsers(run)
    for (const r of value) expect(r.status, r.stderr).toBe(2)
    expect((await stableNow()).resourceVersion).toBe(prev.resourceVersion)
    expect((await cluster.getDeployment(ns, `${app}-canary`))?.metadata.resourceVersion).toBe(canary)
    expect(await status()).toEqual(before)
    await expectSettled(prev.image)
    expect(users.errorCount, JSON.stringify(users.errors) + users.timeline).toBe(0)
    expect(Object.keys(users.versions)).toEqual([prev.version])
    return { value, users }
  }

  it('6. refuses an amd64-only image on arm64 nodes and a missing image at preflight (exit 2, nothing changed)', async () => {
    const t0 = Date.now()
    const amd64 = await pushSampleApp(sb, '2.5', ['linux/amd64'])
    const { value, users } = await refused(async () => [
      await ec(['release', '2.5', '--image', amd64]),
      await ec(['release', '2.6', '--image', `${sb.registry}/kubeapp:2.6`]),
    ])
    expect(value[0].stderr).toContain('built for amd64 but the nodes are arm64')
    expect(value[1].stderr).toContain('is not in the registry')
    note('6 preflight arch/missing', t0, users)
  }, 180_000)

  it('6. refuses to release while a HorizontalPodAutoscaler scales the app (exit 2, nothing changed)', async () => {
    const t0 = Date.now()
    const hpa = await kubectl(
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
    expect(hpa.code, hpa.stderr).toBe(0)
    try {
      const { value, users } = await refused(async () => [await ec(['release', '2.9', ...fast])])
      expect(value[0].stderr).toContain('HorizontalPodAutoscaler kubeapp scales Deployment kubeapp')
      note('6 HPA', t0, users)
    } finally {
      await kubectl(['delete', 'hpa', 'kubeapp', '-n', ns])
    }
  }, 180_000)

  it('6. a /version that differs from the requested version is stopped at the gate', async () => {
    const t0 = Date.now()
    const image = await pushSampleApp(sb, '2.7')
    const { r, users, st, prev, t, rollbackMs } = await badRelease('2.8', ['--image', image, ...fast])
    expect(r.stderr).toContain('/version is "2.7", expected "2.8"')
    expect(st.reason).toContain('/version is "2.7", expected "2.8"')
    expect(t.canaryReadyAt).toBeUndefined()
    expect(users.errorCount, JSON.stringify(users.errors) + users.timeline).toBe(0)
    expect(Object.keys(users.versions)).toEqual([prev.version])
    note('6 /version mismatch', t0, users, `failure seen → rollback done ${rollbackMs}ms`)
  }, 180_000)

  // SIGKILL of the CLI at each step boundary, then each way to continue.
  type Continue = 'resume' | 'abort' | 'promote'
  const kills: {
    version: string
    at: string
    steps: string[]
    when: (s: ReleaseState, stableImage: string) => boolean
    next: Continue
  }[] = [
    { version: '3.1', at: 'after step 1', steps: [], when: (s) => s.step === 1, next: 'resume' },
    { version: '3.2', at: 'after step 2', steps: [], when: (s) => s.step === 2, next: 'abort' },
    {
      version: '3.3',
      at: 'after step 3 (promotion starting)',
      steps: [],
      when: (s) => s.phase === 'Promoting',
      next: 'promote',
    },
    // one step (2:2) gets to the promotion sooner; the kill lands while the stable rolls to the new image
    {
      version: '3.4',
      at: 'during promotion',
      steps: ['--steps', '50'],
      when: (s, image) => s.phase === 'Promoting' && image === s.image,
      next: 'resume',
    },
    {
      version: '3.5',
      at: 'during promotion',
      steps: ['--steps', '50'],
      when: (s, image) => s.phase === 'Promoting' && image === s.image,
      next: 'abort',
    },
  ]

  it.each(kills)(
    '7. SIGKILL $at of $version: status explains, $next ends consistent',
    async (k) => {
      const t0 = Date.now()
      const prev = await stableNow()
      const { value, users } = await withUsers(async () => {
        const child: ChildProcess = spawn(
          process.execPath,
          [cliEntry, 'release', k.version, ...fast, ...k.steps],
          {
            env: sb.env,
            cwd: work,
            stdio: 'ignore',
          },
        )
        const exited = new Promise((r) => child.on('exit', r))
        const killedIn = await waitFor(
          `${k.version} ${k.at}`,
          async () => {
            const d = await cluster.getDeployment(ns, app)
            const s = readState(d)
            return s?.version === k.version && k.when(s, d?.spec.template.spec.containers[0]?.image ?? '')
              ? s
              : undefined
          },
          120_000,
          50,
        )
        child.kill('SIGKILL')
        await exited
        const st = await status()
        const w = watch()
        const cont =
          k.next === 'resume'
            ? await ec(['release', k.version, ...fast, '--json'])
            : await ec([k.next, '--json'])
        return { killedIn, st, cont, t: await w.stop() }
      })
      const { killedIn, st, cont, t } = value
      // status explains: nobody holds the release, it stopped at a step, and how to go on
      expect(st).toMatchObject({ phase: 'Interrupted', version: k.version })
      expect(st.holder).toBeUndefined()
      expect(st.step).toBe(`${killedIn.step + 1}/${killedIn.steps.length}`)
      expect(st.advice).toContain(`edgecanary release ${k.version}`)
      expect(st.advice).toContain('edgecanary promote')
      expect(st.advice).toContain('edgecanary abort')
      expect(st.stable.ready + st.canary.ready).toBeGreaterThanOrEqual(REPLICAS)

      expect(cont.status, cont.stderr).toBe(0)
      const promoted = k.next !== 'abort'
      if (k.next === 'resume')
        expect(JSON.parse(cont.stdout)).toMatchObject({ phase: 'Succeeded', resumed: true })
      // with no live holder, promote and abort take the Lease over and do the work themselves
      if (k.next === 'promote')
        expect(JSON.parse(cont.stdout)).toMatchObject({ delegated: false, result: { phase: 'Succeeded' } })
      if (k.next === 'abort')
        expect(JSON.parse(cont.stdout)).toMatchObject({ delegated: false, phase: 'Aborted' })
      if (killedIn.phase === 'Promoting' && promoted)
        // the promotion goes on: the stable is not scaled back to a step below where it stood
        expect(t.minStableSpec).toBeGreaterThanOrEqual(st.stable.replicas)
      const now = await stableNow()
      if (promoted) expect(now.image).toMatch(new RegExp(`kubeapp:${k.version.replace('.', '\\.')}@sha256:`))
      else expect(now.image).toBe(prev.image)
      await expectSettled(now.image)
      expect(await status()).toMatchObject({
        phase: promoted ? 'Succeeded' : 'Aborted',
        version: k.version,
        ratio: '4:0',
      })
      expect(t.minReady).toBeGreaterThanOrEqual(REPLICAS)
      expect(users.errorCount, JSON.stringify(users.errors) + users.timeline).toBe(0)
      expect(Object.keys(users.versions).every((v) => v === prev.version || v === k.version)).toBe(true)
      note(
        `7 SIGKILL ${k.at} → ${k.next}`,
        t0,
        users,
        `killed in ${killedIn.phase} step ${killedIn.step + 1}`,
      )
    },
    240_000,
  )

  it('7. a failed check seen before a SIGKILL still counts after the resume (threshold 2)', async () => {
    const prev = await stableNow()
    const args = [
      ...['--steps', '50,75', '--pause', '--interval', '2s', '--iterations', '1'],
      ...['--load', '40', '--env', 'LATENCY_MS=800'],
    ]
    const child: ChildProcess = spawn(process.execPath, [cliEntry, 'release', '3.6', ...args], {
      env: sb.env,
      cwd: work,
      stdio: 'ignore',
    })
    const exited = new Promise((r) => child.on('exit', r))
    // paused after step 1 (2:2), whose one interval failed on latency: 1 of the threshold's 2
    const paused = await waitFor(
      '3.6 paused with one failed check',
      async () => {
        const st = readState(await cluster.getDeployment(ns, app))
        return st?.version === '3.6' && st.phase === 'Paused' ? st : undefined
      },
      120_000,
      100,
    )
    expect(paused.failedChecks).toBe(1)
    child.kill('SIGKILL')
    await exited
    // the resumed release runs step 1 again; its second failed check reaches the threshold
    const r = await ec(['release', '3.6', ...args])
    expect(r.status, r.stderr).toBe(1)
    const st = await status()
    expect(st).toMatchObject({ phase: 'RolledBack', version: '3.6', ratio: '4:0' })
    expect(st.reason).toMatch(/canary p99 latency \d+ms > 500ms/)
    expect((await stableNow()).image).toBe(prev.image)
    await expectSettled(prev.image)
  }, 240_000)

  /** Starts `release --pause` and waits until it is Paused after step 1. */
  const startPaused = async (version: string): Promise<{ run: Promise<CliResult> }> => {
    const run = ec(['release', version, ...fast, '--pause'])
    await waitFor(
      `${version} Paused`,
      async () => {
        const s = readState(await cluster.getDeployment(ns, app))
        return s?.version === version && s.phase === 'Paused' ? true : undefined
      },
      120_000,
      200,
    )
    return { run }
  }

  it('8. two releases at once: the second exits 3 naming the holder; promote from a second process during --pause finishes the first', async () => {
    const t0 = Date.now()
    const prev = await stableNow()
    const { value, users } = await withUsers(async () => {
      const { run } = await startPaused('4.0')
      const second = await ec(['release', '4.0', ...fast])
      const paused = await status()
      const promote = await ec(['promote', '--json'])
      return { second, paused, promote, first: await run }
    })
    expect(value.second.status).toBe(3)
    expect(value.second.stderr).toMatch(/holds the lock: edgecanary@/)
    expect(value.paused).toMatchObject({ phase: 'Paused', version: '4.0', step: '1/3', ratio: '3:1' })
    expect(value.paused.holder).toMatch(/^edgecanary@/)
    expect(value.promote.status, value.promote.stderr).toBe(0)
    expect(JSON.parse(value.promote.stdout)).toMatchObject({ delegated: true })
    expect(value.first.status, value.first.stderr).toBe(0)
    const now = await stableNow()
    expect(now.image).toMatch(/kubeapp:4\.0@sha256:/)
    await expectSettled(now.image)
    expect(await status()).toMatchObject({ phase: 'Succeeded', version: '4.0', ratio: '4:0' })
    expect(users.errorCount, JSON.stringify(users.errors) + users.timeline).toBe(0)
    expect(Object.keys(users.versions).sort()).toEqual([prev.version, '4.0'])
    note('8 two at once + promote during pause', t0, users)
  }, 240_000)

  it('8. abort from a second process during --pause rolls back', async () => {
    const t0 = Date.now()
    const prev = await stableNow()
    const { value, users } = await withUsers(async () => {
      const { run } = await startPaused('4.1')
      const abort = await ec(['abort', '--json'])
      return { abort, first: await run }
    })
    expect(value.abort.status, value.abort.stderr).toBe(0)
    expect(JSON.parse(value.abort.stdout)).toMatchObject({ delegated: true })
    expect(value.first.status).toBe(1)
    expect(value.first.stderr).toContain('aborted on request')
    await expectSettled(prev.image)
    expect(await status()).toMatchObject({
      phase: 'Aborted',
      version: '4.1',
      ratio: '4:0',
      reason: 'aborted on request (edgecanary abort)',
    })
    expect(users.errorCount, JSON.stringify(users.errors) + users.timeline).toBe(0)
    expect(Object.keys(users.versions).every((v) => v === prev.version || v === '4.1')).toBe(true)
    note('8 abort during pause', t0, users)
  }, 240_000)

  it('9. kubectl scale drift on the canary during a pause is detected and reported', async () => {
    const t0 = Date.now()
    const prev = await stableNow()
    const { value, users } = await withUsers(async () => {
      const { run } = await startPaused('4.2')
      const scaled = await kubectl(['scale', 'deployment', `${app}-canary`, '-n', ns, '--replicas=3'])
      expect(scaled.code, scaled.stderr).toBe(0)
      const drifted = await waitFor(
        'drift reported',
        async () => {
          const s = await status()
          return s.drift ? s : undefined
        },
        30_000,
        300,
      )
      const human = await ec(['status'])
      const abort = await ec(['abort'])
      return { drifted, human, abort, first: await run }
    })
    // in a pause the extra canary pods are drift, not pods warming for a next step
    expect(value.drifted).toMatchObject({ phase: 'Paused', version: '4.2', ratio: '3:3' })
    expect(value.drifted.canary).not.toHaveProperty('warming')
    expect(value.drifted.drift).toContain('kubeapp-canary scaled to 3 outside edgecanary (step 1 expects 1)')
    expect(value.human.stdout).toContain('drift')
    expect(value.abort.status, value.abort.stderr).toBe(0)
    expect(value.first.status).toBe(1)
    await expectSettled(prev.image)
    expect(await status()).toMatchObject({ phase: 'Aborted', version: '4.2', ratio: '4:0' })
    expect(users.errorCount, JSON.stringify(users.errors) + users.timeline).toBe(0)
    note('9 drift during pause', t0, users)
  }, 240_000)

  it('10. API answering 500s and 429s for a while: the release retries and still promotes', async () => {
    const t0 = Date.now()
    const prev = await stableNow()
    const hook: { phase: string; version: string }[] = []
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
    const w = watch()
    const { value: r, users } = await withUsers(async () => {
      const release = ec(['release', '4.3', ...fast, '--notify', `http://127.0.0.1:${port}/hook`])
      await waitFor(
        'first step',
        async () =>
          (await cluster.getDeployment(ns, `${app}-canary`))?.spec.replicas === 1 ? true : undefined,
        120_000,
        100,
      )
      const f500 = await runCli(['sandbox', 'fault', 'api-error', '--status', '500', '--count', '20'], {
        env: sb.env,
      })
      expect(f500.status, f500.stderr).toBe(0)
      await sleep(1500)
      const f429 = await runCli(['sandbox', 'fault', 'api-error', '--status', '429', '--seconds', '2'], {
        env: sb.env,
      })
      expect(f429.status, f429.stderr).toBe(0)
      return release
    })
    const t = await w.stop()
    server.close()
    expect(r.status, r.stderr).toBe(0)
    const now = await stableNow()
    expect(now.image).toMatch(/kubeapp:4\.3@sha256:/)
    await expectSettled(now.image)
    expect(await status()).toMatchObject({ phase: 'Succeeded', version: '4.3', ratio: '4:0' })
    expect(t.minReady).toBeGreaterThanOrEqual(REPLICAS) // never a half state
    // the generic JSON webhook saw the release from start to promotion
    expect(hook.every((e) => e.version === '4.3')).toBe(true)
    expect(hook.map((e) => e.phase)).toContain('Progressing')
    expect(hook.at(-1)?.phase).toBe('Succeeded')
    expect(users.errorCount, JSON.stringify(users.errors) + users.timeline).toBe(0)
    expect(Object.keys(users.versions).sort()).toEqual([prev.version, '4.3'])
    note('10 API 500/429', t0, users)
  }, 240_000)

  it('11. bad input: unknown flag, bad version, bad steps, unknown context, broken edgecanary.yaml, unreachable cluster → exit 2, nothing changed', async () => {
    const t0 = Date.now()
    const file = join(work, 'edgecanary.yaml')
    const good = readFileSync(file, 'utf8')
    const dead = join(work, 'dead-kubeconfig')
    writeFileSync(
      dead,
      readFileSync(sb.kubeconfig, 'utf8').replace(/https:\/\/127\.0\.0\.1:\d+/, 'https://127.0.0.1:9'),
    )
    const cases: [string[], string[], (() => void)?][] = [
      [['release', '2.0 beta'], ['not a valid image tag']],
      [['release', '4.9', '--bogus'], ['Nonexistent flag']],
      [['release', '4.9', '--steps', '50,25'], ['ascending']],
      [['release', '4.9', '--context', 'nope'], ['context "nope" is not in the kubeconfig']],
      [
        ['release', '4.9'],
        ['analysis.interval: must be a duration'],
        () => writeFileSync(file, stringify({ ...(parse(good) as object), analysis: { interval: 'soon' } })),
      ],
      [
        ['release', '4.9', '--kubeconfig', dead],
        ['unreachable', 'Hint:'],
      ],
    ]
    const { users } = await refused(async () => {
      const out: CliResult[] = []
      for (const [args, reasons, before] of cases) {
        before?.()
        const r = await ec(args, 60_000)
        writeFileSync(file, good)
        for (const reason of reasons) expect(r.stderr, args.join(' ')).toContain(reason)
        out.push(r)
      }
      return out
    })
    note('11 bad input', t0, users)
  }, 240_000)
})
