import { describe, expect, it } from 'vitest'
import { analysisSchema } from '../../src/core/config.js'
import { planSteps } from '../../src/core/release-plan.js'
import { Interrupted, ReleaseFailed, UsageError } from '../../src/errors.js'
import type { Deployment, Progress } from '../../src/ports.js'
import { type ReleasePlanInput, runRelease } from '../../src/release/engine.js'
import { historyName, type ReleaseState, readState } from '../../src/release/state.js'
import {
  type ClusterScript,
  RecordingNotifier,
  ScriptedCluster,
  ScriptedLoad,
  type Write,
} from '../helpers/scripted-cluster.js'
import { VirtualClock } from '../helpers/virtual-clock.js'

// The whole release engine in process: a scripted in-memory cluster (watch events in, writes
// out, pods started and made Ready by the script), a scripted load through the Service and a
// virtual clock. Each release of minutes runs in milliseconds; the sandbox end-to-end tests
// (test/e2e/release*.test.ts) run the same engine against a real API server and real pods.

const ns = 'shop'
const app = 'kubeapp'

function stableDeployment(replicas: number): Deployment {
  const labels = { app, track: 'stable' }
  return {
    metadata: { name: app, labels: { app } },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'registry.local/kubeapp:1.0',
              ports: [{ containerPort: 8080 }],
              readinessProbe: { periodSeconds: 1, httpGet: { path: '/health', port: 8080 } },
            },
          ],
        },
      },
    },
  }
}

function world(script: ClusterScript = {}) {
  const clock = new VirtualClock()
  const cluster = new ScriptedCluster(ns, clock, script)
  cluster.seedDeployment(stableDeployment(4))
  cluster.seedService({
    metadata: { name: app },
    spec: { type: 'LoadBalancer', selector: { app }, ports: [{ port: 80, targetPort: 8080 }] },
    status: { loadBalancer: { ingress: [{ ip: '127.0.0.1', ports: [{ port: 8088 }] }] } },
  })
  const notes: string[] = []
  const progress: Progress = {
    step: () => ({ update() {}, done() {}, fail() {} }),
    note: (line) => notes.push(line),
  }
  const notifier = new RecordingNotifier()
  const load = new ScriptedLoad(cluster, clock)
  const release = (version: string, o: { signal?: AbortSignal; pause?: boolean; analysis?: object } = {}) =>
    clock.run(
      runRelease(
        { cluster, progress, clock, load, notifier, signal: o.signal },
        plan(version, o.pause ?? false, o.analysis),
      ),
    )
  return { clock, cluster, notes, notifier, load, release }
}

function plan(
  version: string,
  pause: boolean,
  analysis: object = { interval: '2s', iterations: 2 },
): ReleasePlanInput {
  return {
    app,
    namespace: ns,
    version,
    image: `registry.local/kubeapp:${version}`,
    steps: planSteps(4, [25, 50, 75]),
    replicas: 4,
    env: {},
    analysis: analysisSchema.parse({ load: 10, minSamples: 1, ...analysis }),
    readinessDeadlineMs: 30_000,
    progressDeadlineMs: 60_000,
    leaseSeconds: 15,
    pause,
    notify: ['http://127.0.0.1:9/hook'],
  }
}

/** The replica counts the engine asked for, in order: `kubeapp=3`, `kubeapp-canary=1`, … */
function scaleWrites(writes: Write[]): string[] {
  const out: string[] = []
  for (const w of writes) {
    if (w.resource !== 'deployments') continue
    if (w.verb === 'create' || w.verb === 'update') {
      const d = w.body as Deployment
      out.push(`${w.name}=${d.spec.replicas}`)
      continue
    }
    // the engine's writes are JSON patches (a `test` of its epoch, then the merge as operations),
    // or, where one does not apply, the merge patch itself
    if (!Array.isArray(w.body)) {
      const replicas = (w.body as { spec?: { replicas?: number } }).spec?.replicas
      if (replicas !== undefined) out.push(`${w.name}=${replicas}`)
      continue
    }
    const ops = w.body as { op: string; path: string; value?: unknown }[]
    const replicas = ops.find((o) => o.path === '/spec/replicas' && o.op !== 'test')
    if (replicas) out.push(`${w.name}=${replicas.value}`)
    const spec = ops.find((o) => o.path === '/spec' && o.op !== 'test') as
      | { value?: { replicas?: number } }
      | undefined
    if (spec?.value?.replicas !== undefined) out.push(`${w.name}=${spec.value.replicas}`)
  }
  return out
}

const stateOf = (cluster: ScriptedCluster): ReleaseState | undefined => readState(cluster.deploymentNow(app))
const historyOf = (cluster: ScriptedCluster): ReleaseState[] =>
  JSON.parse(cluster.configMapNow(historyName(app))?.data?.releases ?? '[]') as ReleaseState[]

describe('release engine in process (scripted cluster, virtual clock)', () => {
  it('a healthy 3-step release scales 3:1 → 2:2 → 1:3, promotes, and writes state, Events and history', async () => {
    const { cluster, notifier, release, load, clock } = world()
    const r = await release('2.0')
    expect(r).toMatchObject({ phase: 'Succeeded', version: '2.0', resumed: false, noop: false })
    expect(r.steps.map((s) => `${s.stable}:${s.canary}`)).toEqual(['3:1', '2:2', '1:3'])
    // canary pods first, then stable pods down; the next step's canary pods warm near each
    // analysis's end; promotion rolls the stable to 4 on the new image, then the canary goes
    expect(scaleWrites(cluster.writes)).toEqual([
      'kubeapp-canary=1',
      'kubeapp=3',
      'kubeapp-canary=2',
      'kubeapp=2',
      'kubeapp-canary=3',
      'kubeapp=1',
      'kubeapp=4',
      'kubeapp-canary=0',
    ])
    // the canary's scale-down to 0 is the controller's a moment later
    await clock.run(clock.sleep(1000))
    const stable = cluster.deploymentNow(app)
    expect(stable?.spec.template.spec.containers[0].image).toBe('registry.local/kubeapp:2.0')
    expect(stable?.status?.readyReplicas).toBe(4)
    expect(cluster.podsNow().filter((p) => p.metadata.labels?.track === 'canary')).toEqual([])
    const st = stateOf(cluster)
    expect(st).toMatchObject({ phase: 'Succeeded', version: '2.0', previousVersion: '1.0', step: 2 })
    expect(st?.timeline?.steps?.length).toBe(3)
    expect(historyOf(cluster).map((h) => `${h.version} ${h.phase}`)).toEqual(['2.0 Succeeded'])
    expect(cluster.recorded.map((e) => e.reason)).toEqual([
      'CanaryProgressing',
      'CanaryProgressing',
      'CanaryProgressing',
      'CanaryProgressing',
      'CanaryPromoting',
      'CanaryFinalising',
      'CanarySucceeded',
    ])
    expect(notifier.events.at(-1)).toMatchObject({
      phase: 'Succeeded',
      version: '2.0',
      previousVersion: '1.0',
    })
    // the analysis saw both versions answer through the Service
    expect(new Set(load.sent.map((s) => s.version))).toEqual(new Set(['1.0', '2.0']))
    // the Lease is let go at the end
    expect(cluster.writes.filter((w) => w.resource === 'leases').at(-1)?.body).toMatchObject({
      spec: { holderIdentity: '' },
    })

    // the same version again: nothing to do, nothing written
    const before = cluster.writes.length
    const again = await release('2.0')
    expect(again).toMatchObject({ noop: true, phase: 'Succeeded' })
    expect(cluster.writes.length).toBe(before)
  })

  it('a canary answering 5xx through the Service is rolled back: stable back to 4 on 1.0, canary 0, reason stored', async () => {
    const { cluster, release } = world({
      serve: (pod) => (pod.metadata.labels?.track === 'canary' ? 500 : 200),
    })
    const err = await release('2.0').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ReleaseFailed)
    expect((err as Error).message).toMatch(
      /^release 2\.0 rolled back: canary answered HTTP 500 \(\d+ of \d+ requests, success rate 0\.0% < 99%\)$/,
    )
    // (the next step's canary pods were warming when the 5xx came: the analysis is short)
    expect(scaleWrites(cluster.writes)).toEqual([
      'kubeapp-canary=1',
      'kubeapp=3',
      'kubeapp-canary=2',
      'kubeapp=4',
      'kubeapp-canary=0',
    ])
    const stable = cluster.deploymentNow(app)
    expect(stable?.spec.template.spec.containers[0].image).toBe('registry.local/kubeapp:1.0')
    expect(stable?.status?.readyReplicas).toBe(4)
    const st = stateOf(cluster)
    expect(st?.phase).toBe('RolledBack')
    expect(st?.reason).toMatch(/^canary answered HTTP 500/)
    expect(st?.timings?.failureSeenAt).toBeDefined()
    expect(cluster.recorded.at(-1)).toMatchObject({ reason: 'CanaryRolledBack', type: 'Warning' })
    expect(historyOf(cluster).map((h) => `${h.version} ${h.phase}`)).toEqual(['2.0 RolledBack'])
  })

  it('a crashing canary is named with its node and rolled back before any stable pod goes', async () => {
    const { cluster, release } = world({
      pod: (p) => (p.metadata.labels?.track === 'canary' ? { behaviour: 'crash', startMs: 500 } : {}),
    })
    const err = await release('2.0').catch((e: unknown) => e)
    expect((err as Error).message).toMatch(
      /^release 2\.0 rolled back: CrashLoopBackOff: pod kubeapp-canary-[a-z0-9]+-\d+ on node pi-[12] restarted 2 times$/,
    )
    // the stable was never scaled down: only its rollback write (to full strength) and the canary to 0
    expect(scaleWrites(cluster.writes)).toEqual(['kubeapp-canary=1', 'kubeapp=4', 'kubeapp-canary=0'])
    expect(stateOf(cluster)?.timeline?.ev.some(([, kind]) => kind === 'fast-fail')).toBe(true)
  })

  it('a canary whose /health answers 503 from its first probe is rolled back past its warm-up, naming the endpoint', async () => {
    const { cluster, release, clock } = world({
      pod: (p) => (p.metadata.labels?.track === 'canary' ? { behaviour: 'unready' } : {}),
    })
    const t0 = clock.now()
    const err = await release('2.0').catch((e: unknown) => e)
    expect((err as Error).message).toMatch(
      /^release 2\.0 rolled back: pre-traffic gate: canary \/health answered 503 on \d+ probes over [\d.]+ s/,
    )
    // well before the 30 s readiness deadline (virtual time)
    expect(clock.now() - t0).toBeLessThan(15_000)
    expect(stateOf(cluster)?.phase).toBe('RolledBack')
  })

  it('an interrupted release is refused for another version, then resumed at its step and promoted', async () => {
    const { cluster, notes, release } = world()
    const ac = new AbortController()
    // interrupt (Ctrl-C) as the stable goes down to 2: step 2 of 3 is under way
    cluster.onWrite = (w) => {
      if (scaleWrites([w])[0] === 'kubeapp=2') ac.abort()
    }
    const first = await release('2.0', { signal: ac.signal }).catch((e: unknown) => e)
    cluster.onWrite = undefined
    expect(first).toBeInstanceOf(Interrupted)
    expect(stateOf(cluster)).toMatchObject({ phase: 'Interrupted', step: 1 })

    const before = cluster.writes.length
    const refused = await release('3.0').catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(UsageError)
    expect((refused as Error).message).toBe('a release of kubeapp 2.0 is in phase Interrupted')
    expect(cluster.writes.length).toBe(before)

    const r = await release('2.0')
    expect(r).toMatchObject({ phase: 'Succeeded', resumed: true })
    expect(notes).toContain('resuming kubeapp 2.0 from phase Interrupted, step 2')
    // the resumed release goes on from step 2: step 1's 3:1 is not asked again
    expect(scaleWrites(cluster.writes.slice(before))).toEqual([
      'kubeapp-canary=2',
      'kubeapp=2',
      'kubeapp-canary=3',
      'kubeapp=1',
      'kubeapp=4',
      'kubeapp-canary=0',
    ])
    expect(historyOf(cluster).map((h) => `${h.version} ${h.phase}`)).toEqual(['2.0 Succeeded'])
  })

  it('a healthy release at the default analysis (10 s × 3 per step) makes at most 1 API request a second outside the pod proxy', async () => {
    const { cluster, clock, release } = world()
    const t0 = clock.now()
    await release('2.0', { analysis: {} })
    const seconds = (clock.now() - t0) / 1000
    const counted = cluster.calls.filter((c) => !c.endsWith('pods/proxy'))
    const byKind = new Map<string, number>()
    for (const c of counted) byKind.set(c, (byKind.get(c) ?? 0) + 1)
    // three steps of 30 s of analysis each: the writes of the steps and phases, a list and a
    // watch per kind, Lease renewals every 5 s; no polls
    expect(seconds).toBeGreaterThan(90)
    expect(counted.length / seconds, JSON.stringify([...byKind])).toBeLessThanOrEqual(1)
    expect(byKind.get('LIST pods')).toBe(1)
    expect(byKind.get('GET deployments') ?? 0).toBeLessThanOrEqual(4)
    // each passing interval but a step's last is stored (10 s apart), with the 7 phase changes,
    // the scale writes and the claim: nothing more
    expect(byKind.get('PATCH deployments')).toBeLessThanOrEqual(23)
  })
})
