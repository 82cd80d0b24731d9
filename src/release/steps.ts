// The canary Deployment and the steps of a release: scale the canary up, gate its pods into
// the Service, scale the stable down, analyse (analysis-loop.ts).
import { formatEpoch } from '../core/epoch.js'
import { progressWriteDue, stepSummary, warmAhead } from '../core/release-decisions.js'
import { startStep } from '../core/timeline.js'
import type { Deployment } from '../ports.js'
import { runAnalysis } from './analysis-loop.js'
import { EPOCH_ANNOTATION } from './lock.js'
import { canaryDeployment, canaryName } from './objects.js'
import { type ReleaseRun, Rollback } from './run.js'
import { fastFail, gateCanaryPods, waitCanaryContainersReady, waitCanaryReady, waitStable } from './waits.js'

/**
 * Creates or updates the canary Deployment from the Deployments as the claims read them (an
 * absent canary is created); a release not yet at a step asks for its first step's pods at once.
 */
export async function ensureCanary(
  r: ReleaseRun,
  stableRead: Deployment | undefined,
  existing: Deployment | undefined,
): Promise<void> {
  const stable = stableRead ?? (await r.mustStable())
  const first = r.state.step < 0 ? r.state.steps[0]?.canary : undefined
  const want = canaryDeployment(
    stable,
    r.plan.app,
    r.state.image,
    r.state.env,
    first ?? existing?.spec.replicas ?? 0,
    Math.round((r.plan.progressDeadlineMs ?? 60_000) / 1000),
  )
  if (existing) {
    // fenced: the spec of the canary this release drives (a merge patch replaces its lists)
    await r.lock.patch(canaryName(r.plan.app), {
      metadata: { labels: want.metadata.labels },
      spec: want.spec,
    })
  } else {
    want.metadata.annotations = { [EPOCH_ANNOTATION]: formatEpoch(r.lock.epoch) }
    await r.cluster.applyDeployment(r.ns, want)
  }
  // the canary now has exactly these replicas: a step that asks for as many writes nothing (a
  // resumed release's current step)
  r.warmedTo = want.spec.replicas
}

/** Step `i`: canary pods first (gated into the Service), then the stable scaled down, then the analysis. */
export async function runStep(r: ReleaseRun, i: number): Promise<void> {
  const s = r.state.steps[i]
  const { progress } = r.deps
  r.state.step = i
  await r.transition(
    'Progressing',
    `step ${i + 1}/${r.state.steps.length}: ${s.stable}:${s.canary} (${s.actualPercent}% canary)`,
  )
  const h = progress.step(
    `step ${i + 1}/${r.state.steps.length}: stable ${s.stable} : canary ${s.canary} (${s.actualPercent}% of pods)`,
  )
  // 1. canary pods first, so capacity never drops (already asked for when they were warmed)
  if (r.warmedTo !== s.canary) await r.lock.patch(canaryName(r.plan.app), { spec: { replicas: s.canary } })
  r.warmedTo = undefined
  h.update(`waiting for ${s.canary} canary pod(s) to start`)
  const asked = r.clock.now()
  await waitCanaryContainersReady(r, s.canary)
  r.podStartMs += r.clock.now() - asked
  // 2. pre-traffic gate through the pod proxy, then the gate condition lets them into the Service
  h.update('pre-traffic gate: /health and /version of each canary pod')
  await gateCanaryPods(r)
  r.record('gate', `step ${i + 1}: /health and /version of ${s.canary} canary pod(s) passed; in the Service`)
  await waitCanaryReady(r, s.canary)
  // 3. only now remove stable pods
  await r.patchStableSpec({ spec: { replicas: s.stable } })
  await waitStable(r, s.stable, false)
  r.state.timeline = startStep(r.state.timeline, {
    index: i,
    weight: s.weight,
    stable: s.stable,
    canary: s.canary,
    atMs: r.elapsedMs(),
  })
  h.update(`analysis: ${r.plan.analysis.iterations} × ${r.plan.analysis.interval}`)
  const failedBefore = r.failedChecks
  await analyse(r, h, warmAhead(r.plan.pause, i, s, r.state.steps[i + 1]))
  h.done(stepSummary(s, r.failedChecks - failedBefore, r.failedChecks, r.plan.analysis.threshold))
}

/**
 * `interval × iterations` of analysis (analysis-loop.ts). With `warm`, the canary is scaled to
 * the next step's count near the end (prewarmDelayMs).
 */
async function analyse(
  r: ReleaseRun,
  h: { update(d: string): void },
  warm?: { replicas: number; step: number },
): Promise<void> {
  await runAnalysis(
    {
      analysis: r.plan.analysis,
      target: r.plan.version,
      intervalMs: r.intervalMs,
      progressDeadlineMs: r.plan.progressDeadlineMs ?? 60_000,
      state: r.state,
      signal: r.deps.signal,
      clock: r.clock,
      samples: () => r.samples,
      drainSamples: () => {
        const taken = r.samples
        r.samples = []
        return taken
      },
      startLoad: () => r.startLoadIfNeeded(),
      between: async () => {
        r.checkSignal()
        await r.checkRequests()
        await fastFail(r, await r.canaryPods())
      },
      checkServingPods: () => r.checkServingPods(),
      sawFailure: (at) => r.sawFailure(at),
      warm: async (replicas) => {
        await r.lock.patch(canaryName(r.plan.app), { spec: { replicas } })
        r.warmedTo = replicas
      },
      writeState: async (failed) => {
        if (progressWriteDue(failed, r.clock.now() - r.lastWriteAt)) await r.writeState()
      },
      rollback: (reason) => {
        throw new Rollback(reason)
      },
      metrics: () => r.queryMetrics(),
      record: (kind, text) => r.record(kind, text),
      onInterval: (it, v, samples) => {
        r.recordInterval(samples, v.ok)
        if (!v.ok) r.record('analysis', `interval ${it + 1}: ${v.reason ?? 'failed'}`)
      },
    },
    h,
    warm,
  )
}
