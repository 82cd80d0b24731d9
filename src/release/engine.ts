import type { PodCheck, RequestSample } from '../core/analysis.js'
import { type AnalysisConfig, parseDuration } from '../core/config.js'
import { formatEpoch } from '../core/epoch.js'
import { fastFailReason } from '../core/fast-fail.js'
import { podViewOf } from '../core/pod-view.js'
import { type MetricResult, promDuration } from '../core/prometheus.js'
import { warmupAllowanceMs } from '../core/readiness-evidence.js'
import { driftOf, startDecision } from '../core/release-decisions.js'
import type { PlanStep } from '../core/release-plan.js'
import { stableReached } from '../core/rollout.js'
import {
  addEvent,
  addInterval,
  endSteps,
  intervalStats,
  startStep,
  type TimelineEventKind,
} from '../core/timeline.js'
import { Interrupted, LockHeld, ReleaseFailed, UsageError } from '../errors.js'
import type { Cluster, Deployment, Pod, Progress } from '../ports.js'
import { startLoad } from '../verify/traffic.js'
import { runAnalysis } from './analysis-loop.js'
import { openGates, podAsker, probePod } from './gates.js'
import { acquireLock, EPOCH_ANNOTATION, epochOn, type HeldLock, leaseName } from './lock.js'
import { notify, type ReleaseEvent } from './notify.js'
import { canaryDeployment, canaryName, cond, GATE, versionOf } from './objects.js'
import { queryMetrics } from './prometheus.js'
import { externalUrl } from './service-url.js'
import { StartingPods } from './starting-pods.js'
import {
  appendHistory,
  FINAL_PHASES,
  historyName,
  type Phase,
  REQUEST_ANNOTATION,
  type ReleaseState,
  readState,
  statePatch,
} from './state.js'
import { ReleaseView } from './watches.js'

export { canaryDeployment, canaryName, GATE, versionOf }

export interface ReleasePlanInput {
  app: string
  namespace: string
  version: string
  image: string
  steps: PlanStep[]
  replicas: number
  env: Record<string, string>
  analysis: AnalysisConfig
  readinessDeadlineMs: number
  /**
   * How long a starting canary's failed probes are allowed before they count (default: three
   * periods of its readiness probe, warmupAllowanceMs); past it, persistent failure rolls back.
   */
  readinessWarmupMs?: number
  /** The canary Deployment's progressDeadlineSeconds; past it, Kubernetes marks it ProgressDeadlineExceeded (default 60 s). */
  progressDeadlineMs?: number
  leaseSeconds: number
  pause: boolean
  notify: string[]
}

export interface ReleaseDeps {
  cluster: Cluster
  progress: Progress
  signal?: AbortSignal
}

export interface ReleaseResult {
  app: string
  namespace: string
  version: string
  phase: Phase
  reason?: string
  steps: { stable: number; canary: number; actualPercent: number }[]
  resumed: boolean
  noop: boolean
  durationMs: number
  /** Of durationMs, the time spent waiting for new pods to start and pass their readiness probe (the kubelet's part). */
  podStartMs: number
}

class Rollback extends Error {}
class Abort extends Error {}
class PromoteNow extends Error {}

/**
 * Runs (or resumes) a replica-ratio canary release to promotion or rollback. Returns the
 * result on promotion; throws ReleaseFailed after a rollback, Interrupted on SIGINT, LockHeld
 * when another process holds the app's Lease.
 */
export async function runRelease(deps: ReleaseDeps, plan: ReleasePlanInput): Promise<ReleaseResult> {
  const { cluster, progress } = deps
  const t0 = Date.now()
  const ns = plan.namespace
  const [stable0, canary0] = await Promise.all([
    cluster.getDeployment(ns, plan.app),
    cluster.getDeployment(ns, canaryName(plan.app)),
  ])
  if (!stable0) {
    throw new UsageError(`Deployment ${ns}/${plan.app} not found`, {
      hint: 'run `edgecanary init` first, or pass -n NAMESPACE',
    })
  }
  const prior = readState(stable0)
  const start = startDecision(prior, plan.version)
  if (start.action === 'noop' && prior) {
    progress.note(`${plan.app} ${plan.version} is already released (Succeeded): nothing to do`)
    return result(prior, false, true)
  }
  if (start.action === 'refuse') {
    throw new UsageError(`a release of ${plan.app} ${start.running} is in phase ${start.phase}`, {
      hint: `finish it with \`edgecanary promote\` or \`edgecanary abort\`, or resume it with \`edgecanary release ${start.running}\``,
    })
  }
  // epochs only grow: above any epoch already on the app's Deployments, even if the Lease was deleted
  const floor = Math.max(epochOn(stable0)?.n ?? -1, epochOn(canary0)?.n ?? -1) + 1
  // from here on the release follows its pods, Deployments and Lease by watch, not by polls
  const view = new ReleaseView(cluster, ns, plan.app, leaseName(plan.app))
  let lock: HeldLock
  try {
    lock = await acquireLock(cluster, ns, plan.app, plan.leaseSeconds, {
      floor,
      watched: () => view.currentLease(),
    })
  } catch (err) {
    view.stop()
    throw err
  }
  lock.saw(stable0)
  lock.saw(canary0)
  let claimed: (Deployment | undefined)[]
  try {
    // from here on, a holder we took over from cannot write these any more
    claimed = await Promise.all([lock.claim(plan.app), lock.claim(canaryName(plan.app))])
  } catch (err) {
    view.stop()
    await lock.release().catch(() => {})
    throw err
  }
  const resumed = start.action === 'resume'
  const stableImage = stable0.spec.template.spec.containers[0]?.image ?? ''
  const state: ReleaseState =
    resumed && prior
      ? { ...prior, holder: lock.identity }
      : {
          app: plan.app,
          namespace: ns,
          version: plan.version,
          image: plan.image,
          previousImage: stableImage,
          previousVersion: versionOf(stable0),
          replicas: plan.replicas,
          steps: plan.steps,
          step: -1,
          phase: 'Initialized',
          env: plan.env,
          holder: lock.identity,
          startedAt: new Date().toISOString(),
          updatedAt: new Date().toISOString(),
        }
  const ctx = new ReleaseRun(deps, plan, state, lock, view)
  // read before the transition below overwrites it: a release stopped while promoting goes on
  // promoting (going back to its last step would scale the already-updated stable down again)
  const inPromotion = resumed && (state.phase === 'Promoting' || state.phase === 'Finalising')
  try {
    if (resumed)
      progress.note(`resuming ${plan.app} ${plan.version} from phase ${state.phase}, step ${state.step + 1}`)
    await ctx.transition(
      resumed ? 'Progressing' : 'Progressing',
      resumed ? 'resumed' : `release ${plan.version} started`,
    )
    if (inPromotion) {
      // `edgecanary abort` that took over a stopped promotion still rolls back
      await ctx.abortIfRequested()
      await ctx.promote()
    } else {
      // the Deployments as the claims left them: only the epoch annotation changed since the reads
      await ctx.ensureCanary(claimed[0], claimed[1])
      try {
        for (let i = Math.max(0, state.step); i < state.steps.length; i++) {
          await ctx.step(i)
          if (plan.pause && i < state.steps.length - 1) await ctx.pauseUntilPromoted()
        }
      } catch (err) {
        // `edgecanary promote` from another terminal: skip the remaining steps
        if (!(err instanceof PromoteNow)) throw err
      }
      await ctx.promote()
    }
    return result(state, resumed, false, ctx.podStartMs)
  } catch (err) {
    if (err instanceof Rollback || err instanceof Abort) {
      await ctx.rollback(err.message, err instanceof Abort ? 'Aborted' : 'RolledBack')
      throw new ReleaseFailed(
        `release ${plan.version} ${err instanceof Abort ? 'aborted' : 'rolled back'}: ${err.message}`,
        {
          hint: `${plan.app} runs ${state.previousVersion ?? state.previousImage} on all ${plan.replicas} pods; see \`edgecanary status\` and \`kubectl get events -n ${ns}\``,
          details: { phase: state.phase, reason: err.message },
        },
      )
    }
    if (err instanceof Interrupted) {
      await ctx
        .transition(
          'Interrupted',
          'interrupted (SIGINT): resume with `edgecanary release ' +
            plan.version +
            '`, or `edgecanary abort`',
        )
        .catch(() => {})
    }
    throw err
  } finally {
    ctx.stopLoad()
    view.stop()
    // the Events still being written need no lock: both finish side by side
    await Promise.all([ctx.settle(), lock.release().catch(() => {})])
  }

  function result(s: ReleaseState, wasResumed: boolean, noop: boolean, podStartMs = 0): ReleaseResult {
    return {
      app: s.app,
      namespace: s.namespace,
      version: s.version,
      phase: s.phase,
      reason: s.reason,
      steps: s.steps.map(({ stable, canary, actualPercent }) => ({ stable, canary, actualPercent })),
      resumed: wasResumed,
      noop,
      durationMs: Date.now() - t0,
      podStartMs: Math.round(podStartMs),
    }
  }
}

/** A best-effort write may fail quietly, except when the fence refused it: then the holder must stop. */
function keepLockHeld(err: unknown): undefined {
  if (err instanceof LockHeld) throw err
  return undefined
}

class ReleaseRun {
  private samples: RequestSample[] = []
  private load?: { stop(): Promise<void> }
  private readonly ns: string
  private readonly intervalMs: number

  constructor(
    private readonly deps: ReleaseDeps,
    private readonly plan: ReleasePlanInput,
    private readonly state: ReleaseState,
    private readonly lock: HeldLock,
    private readonly view: ReleaseView,
  ) {
    this.ns = plan.namespace
    this.intervalMs = parseDuration(plan.analysis.interval)
    this.starting = new StartingPods({
      view,
      ask: (pod, path) => this.ask(pod, path),
      target: plan.version,
      warmupMs: (pod) =>
        plan.readinessWarmupMs ??
        warmupAllowanceMs(pod.spec.containers[0]?.readinessProbe, plan.readinessDeadlineMs),
    })
  }

  private get cluster(): Cluster {
    return this.deps.cluster
  }

  private checkSignal(): void {
    if (this.deps.signal?.aborted)
      throw new Interrupted(`release ${this.plan.version} interrupted`, {
        hint: `resume with \`edgecanary release ${this.plan.version}\`, or roll back with \`edgecanary abort\``,
      })
  }

  /** Events go out one after another, in order, beside the release rather than in its path. */
  private events: Promise<unknown> = Promise.resolve()

  private track(write: () => Promise<unknown>): void {
    this.events = this.events.then(write).catch(() => {})
  }

  /** Waits for the Events still being written. */
  async settle(): Promise<void> {
    await this.events
  }

  /** Adds an event to the release's timeline; it is stored with the next state write. */
  record(kind: TimelineEventKind, text: string): void {
    this.state.timeline = addEvent(this.state.timeline, { atMs: this.elapsedMs(), kind, text })
  }

  private elapsedMs(): number {
    return Date.now() - Date.parse(this.state.startedAt)
  }

  async transition(phase: Phase, message: string, type: 'Normal' | 'Warning' = 'Normal'): Promise<void> {
    this.state.phase = phase
    if (phase === 'Promoting' || FINAL_PHASES.includes(phase))
      this.state.timeline = endSteps(this.state.timeline, this.elapsedMs())
    this.record('phase', `${phase}: ${message}`)
    if (phase === 'RolledBack' || phase === 'Aborted' || phase === 'RollingBack')
      this.state.reason = this.state.reason ?? message
    // the event and the notification follow a state write the fence let through
    const d = await this.lock.patch(this.plan.app, statePatch(this.state))
    // the Event is not on the release's path: written beside it, awaited before the command ends
    this.track(() =>
      this.cluster.recordEvent(this.ns, d, `Canary${phase}`, `${this.plan.version}: ${message}`, type),
    )
    const s = this.state.steps[this.state.step]
    const ev: ReleaseEvent = {
      app: this.plan.app,
      namespace: this.ns,
      version: this.plan.version,
      previousVersion: this.state.previousVersion,
      phase,
      step: this.state.step + 1,
      weight: s?.actualPercent,
      stable: s?.stable,
      canary: s?.canary,
      reason: message,
      at: new Date().toISOString(),
    }
    if (this.plan.notify.length > 0) await notify(this.plan.notify, ev)
  }

  /**
   * Creates or updates the canary Deployment from the Deployments as the claims read them (an
   * absent canary is created); a release not yet at a step asks for its first step's pods at once.
   */
  async ensureCanary(stableRead: Deployment | undefined, existing: Deployment | undefined): Promise<void> {
    const stable = stableRead ?? (await this.mustStable())
    const first = this.state.step < 0 ? this.state.steps[0]?.canary : undefined
    const want = canaryDeployment(
      stable,
      this.plan.app,
      this.state.image,
      this.state.env,
      first ?? existing?.spec.replicas ?? 0,
      Math.round((this.plan.progressDeadlineMs ?? 60_000) / 1000),
    )
    if (existing) {
      // fenced: the spec of the canary this release drives (a merge patch replaces its lists)
      await this.lock.patch(canaryName(this.plan.app), {
        metadata: { labels: want.metadata.labels },
        spec: want.spec,
      })
    } else {
      want.metadata.annotations = { [EPOCH_ANNOTATION]: formatEpoch(this.lock.epoch) }
      await this.cluster.applyDeployment(this.ns, want)
    }
    if (first !== undefined) this.warmedTo = first
  }

  private async mustStable(): Promise<Deployment> {
    // the watched copy; a Deployment without the app label (made by hand) is read instead
    const d =
      this.view.deployment(this.plan.app) ?? (await this.cluster.getDeployment(this.ns, this.plan.app))
    this.lock.saw(d)
    if (!d) throw new Rollback(`Deployment ${this.plan.app} disappeared`)
    return d
  }

  async step(i: number): Promise<void> {
    const s = this.state.steps[i]
    const { progress } = this.deps
    this.state.step = i
    await this.transition(
      'Progressing',
      `step ${i + 1}/${this.state.steps.length}: ${s.stable}:${s.canary} (${s.actualPercent}% canary)`,
    )
    const h = progress.step(
      `step ${i + 1}/${this.state.steps.length}: stable ${s.stable} : canary ${s.canary} (${s.actualPercent}% of pods)`,
    )
    // 1. canary pods first, so capacity never drops (already asked for when they were warmed)
    if (this.warmedTo !== s.canary)
      await this.lock.patch(canaryName(this.plan.app), { spec: { replicas: s.canary } })
    this.warmedTo = undefined
    h.update(`waiting for ${s.canary} canary pod(s) to start`)
    const asked = Date.now()
    await this.waitCanaryContainersReady(s.canary)
    this.podStartMs += Date.now() - asked
    // 2. pre-traffic gate through the pod proxy, then the gate condition lets them into the Service
    h.update('pre-traffic gate: /health and /version of each canary pod')
    await this.gateCanaryPods()
    this.record(
      'gate',
      `step ${i + 1}: /health and /version of ${s.canary} canary pod(s) passed; in the Service`,
    )
    await this.waitCanaryReady(s.canary)
    // 3. only now remove stable pods
    await this.patchStableSpec({ spec: { replicas: s.stable } })
    await this.waitStable(s.stable, false)
    this.state.timeline = startStep(this.state.timeline, {
      index: i,
      weight: s.weight,
      stable: s.stable,
      canary: s.canary,
      atMs: this.elapsedMs(),
    })
    h.update(`analysis: ${this.plan.analysis.iterations} × ${this.plan.analysis.interval}`)
    const failedBefore = this.failedChecks
    // the next step's canary pods start near the end of this analysis, held out of the Service
    // by the readiness gate until that step's pre-traffic gate opens it; not when pausing (the
    // next step waits for a person and may never come)
    const next = this.plan.pause ? undefined : this.state.steps[i + 1]
    await this.analyse(h, next && next.canary > s.canary ? { replicas: next.canary, step: i + 2 } : undefined)
    const failedHere = this.failedChecks - failedBefore
    h.done(
      failedHere === 0
        ? `${s.stable}:${s.canary} healthy`
        : `${s.stable}:${s.canary} — ${failedHere} failed check(s), ${this.failedChecks} of threshold ${this.plan.analysis.threshold} so far`,
    )
  }

  private async canaryPods(): Promise<Pod[]> {
    await this.view.ready
    return this.view.podsOf('canary')
  }

  /** Canary pods that passed the pre-traffic gate: the ones in the Service (not those warming for the next step). */
  private async servingCanaryPods(): Promise<Pod[]> {
    return (await this.canaryPods()).filter((p) => cond(p, GATE))
  }

  /** /health and /version of every canary pod in the Service, asked at once. */
  private async checkServingPods(): Promise<PodCheck[]> {
    return Promise.all((await this.servingCanaryPods()).map((p) => this.probe(p)))
  }

  private async fastFail(pods: Pod[]): Promise<void> {
    const reason = fastFailReason(pods.map(podViewOf))
    if (reason) {
      // the failure began when the first canary container ended, not when the pattern was clear
      const ended = pods
        .flatMap((p) => p.status?.containerStatuses ?? [])
        .map((c) => Date.parse(c.lastState?.terminated?.finishedAt ?? c.state?.terminated?.finishedAt ?? ''))
        .filter(Number.isFinite)
      this.sawFailure(ended.length > 0 ? Math.min(...ended) : Date.now())
      this.record('fast-fail', reason)
      throw new Rollback(reason)
    }
  }

  private firstFailure?: number

  /** The first moment a failure signal was seen (a bad probe answer, a canary 5xx, a crashed pod). */
  sawFailure(at: number): void {
    if (this.firstFailure === undefined || at < this.firstFailure) this.firstFailure = at
  }

  private async waitCanaryContainersReady(n: number): Promise<void> {
    const deadline = Date.now() + this.plan.readinessDeadlineMs
    for (;;) {
      this.checkSignal()
      await this.checkRequests()
      const pods = await this.canaryPods()
      await this.fastFail(pods)
      const ready = pods.filter((p) => cond(p, 'ContainersReady'))
      if (ready.length >= n) return
      this.judgeStartingPods(pods)
      this.progressDeadline()
      if (Date.now() > deadline) {
        const why = pods
          .map(
            (p) =>
              `${p.metadata.name}: ${p.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? p.status?.phase ?? 'Pending'}`,
          )
          .join(', ')
        throw new Rollback(
          `readiness deadline: ${ready.length}/${n} canary pod(s) Ready after ${this.plan.readinessDeadlineMs / 1000}s (${why}); /health never answered 200`,
        )
      }
      await this.view.changed(250, this.deps.signal)
    }
  }

  /** The canary Deployment's Progressing condition (watched): ProgressDeadlineExceeded is a named fast-fail. */
  private progressDeadline(): void {
    const c = this.view.deployment(canaryName(this.plan.app))
    this.lock.saw(c)
    const p = c?.status?.conditions?.find((x) => x.type === 'Progressing')
    if (p?.status === 'False' && p.reason === 'ProgressDeadlineExceeded')
      throw new Rollback(
        `progress deadline: ${canaryName(this.plan.app)} made no progress in ${c?.spec.progressDeadlineSeconds ?? 60}s (${p.message ?? 'ProgressDeadlineExceeded'})`,
      )
  }

  /** A GET of the pod's own port through the API server's pod proxy (gates.ts). */
  private ask(pod: Pod, path: string): Promise<{ status: number; body: string }> {
    return podAsker(this.cluster, this.ns)(pod, path)
  }

  private probe(pod: Pod): Promise<PodCheck> {
    return probePod((p, path) => this.ask(p, path), pod)
  }

  /** Readiness failures of starting canary pods as evidence (starting-pods.ts). */
  private readonly starting: StartingPods

  private judgeStartingPods(pods: Pod[]): void {
    const v = this.starting.judge(pods)
    if (v) {
      this.sawFailure(v.firstFailureAt)
      throw new Rollback(`pre-traffic gate: ${v.reason}`)
    }
  }

  private async gateCanaryPods(): Promise<void> {
    const reason = await openGates({
      pods: await this.canaryPods(),
      target: this.plan.version,
      ask: (pod, path) => this.ask(pod, path),
      stillWanted: (pod) => this.stillWanted(pod),
      checkLock: () => this.lock.check(),
      open: (pod) =>
        this.cluster.setPodCondition(this.ns, pod.metadata.name, GATE, true, 'PreTrafficGatePassed'),
    })
    if (reason) throw new Rollback(reason)
  }

  /** The pod as the API server has it now: there, and not being deleted. */
  private async stillWanted(pod: Pod): Promise<boolean> {
    const now = await this.cluster.listPods(this.ns, `app=${this.plan.app},track=canary`)
    const p = now.find((x) => x.metadata.name === pod.metadata.name)
    return Boolean(p && !p.metadata.deletionTimestamp)
  }

  private async waitCanaryReady(n: number): Promise<void> {
    const deadline = Date.now() + this.plan.readinessDeadlineMs
    for (;;) {
      this.checkSignal()
      const pods = await this.canaryPods()
      await this.fastFail(pods)
      if (pods.filter((p) => cond(p, 'Ready')).length >= n) return
      if (Date.now() > deadline) throw new Rollback('canary pods passed the gate but did not become Ready')
      await this.gateCanaryPods()
      await this.view.changed(250, this.deps.signal)
    }
  }

  /**
   * Waits until the stable Deployment has `n` ready pods and, with `all`, only updated ones:
   * the watched Deployment ends the wait as soon as the controller reports it.
   */
  private async waitStable(n: number, all: boolean): Promise<void> {
    const deadline = Date.now() + this.plan.readinessDeadlineMs
    await this.view.ready
    for (;;) {
      const d = await this.mustStable()
      // the watched copy may not show this process's last spec write yet: only a copy at least that new decides
      const current = (d.metadata.generation ?? 0) >= this.stableGeneration
      if (current && stableReached({ generation: d.metadata.generation, status: d.status }, n, all)) return
      if (Date.now() > deadline)
        throw new Rollback(
          `stable ${this.plan.app} did not reach ${n} ready pod(s) in ${this.plan.readinessDeadlineMs / 1000}s`,
        )
      await this.view.changed(1000, this.deps.signal)
    }
  }

  private async startLoadIfNeeded(): Promise<void> {
    if (this.load || this.plan.analysis.load <= 0) return
    const url = await externalUrl(this.cluster, this.ns, this.plan.app).catch(() => undefined)
    if (!url) return
    this.load = startLoad({
      url,
      rate: this.plan.analysis.load,
      timeoutMs: 2000,
      onResult: (r) => this.samples.push(r),
    })
  }

  stopLoad(): void {
    void this.load?.stop()
    this.load = undefined
  }

  /** The stable Deployment's generation after this process's last change of its spec. */
  private stableGeneration = 0

  /** A fenced change of the stable Deployment's spec; the waits then wait for a copy of at least its generation. */
  private async patchStableSpec(patch: object): Promise<void> {
    const d = await this.lock.patch(this.plan.app, patch)
    this.stableGeneration = Math.max(this.stableGeneration, d.metadata.generation ?? 0)
  }

  /** Time spent waiting for new pods to be started and Ready (canary steps, promotion rollout). */
  podStartMs = 0

  /** The canary replicas asked for ahead of the next step by this process (see analyse). */
  private warmedTo?: number

  /** Failed analysis checks of this release so far: the threshold counts them across steps, as Flagger does. */
  private get failedChecks(): number {
    return this.state.failedChecks ?? 0
  }

  /**
   * `interval × iterations` of analysis (analysis-loop.ts). With `warm`, the canary is scaled to
   * the next step's count near the end (prewarmDelayMs).
   */
  private async analyse(
    h: { update(d: string): void },
    warm?: { replicas: number; step: number },
  ): Promise<void> {
    await runAnalysis(
      {
        analysis: this.plan.analysis,
        target: this.plan.version,
        intervalMs: this.intervalMs,
        progressDeadlineMs: this.plan.progressDeadlineMs ?? 60_000,
        state: this.state,
        signal: this.deps.signal,
        samples: () => this.samples,
        drainSamples: () => {
          const taken = this.samples
          this.samples = []
          return taken
        },
        startLoad: () => this.startLoadIfNeeded(),
        between: async () => {
          this.checkSignal()
          await this.checkRequests()
          await this.fastFail(await this.canaryPods())
        },
        checkServingPods: () => this.checkServingPods(),
        sawFailure: (at) => this.sawFailure(at),
        warm: async (replicas) => {
          await this.lock.patch(canaryName(this.plan.app), { spec: { replicas } })
          this.warmedTo = replicas
        },
        writeState: async () => {
          await this.lock.patch(this.plan.app, statePatch(this.state))
        },
        rollback: (reason) => {
          throw new Rollback(reason)
        },
        metrics: () => this.queryMetrics(),
        record: (kind, text) => this.record(kind, text),
        onInterval: (it, v, samples) => {
          this.recordInterval(samples, v.ok)
          if (!v.ok) this.record('analysis', `interval ${it + 1}: ${v.reason ?? 'failed'}`)
        },
      },
      h,
      warm,
    )
  }

  /** The Prometheus checks of `analysis.metrics` for the canary track (none configured: none asked). */
  private queryMetrics(): Promise<MetricResult[]> {
    const { prometheus, metrics } = this.plan.analysis
    if (!prometheus || metrics.length === 0) return Promise.resolve([])
    return queryMetrics(prometheus, metrics, {
      app: this.plan.app,
      namespace: this.ns,
      track: 'canary',
      interval: promDuration(this.intervalMs),
    })
  }

  /** One analysis interval in the timeline: both sides' requests, errors, success rate, p50 and p99. */
  private recordInterval(samples: RequestSample[], ok: boolean): void {
    this.state.timeline = addInterval(this.state.timeline, {
      step: this.state.step,
      atMs: this.elapsedMs(),
      ok,
      ...intervalStats(samples, this.plan.version),
    })
  }

  /** Throws Abort when `edgecanary abort` asked for it; any other request is left to the caller. */
  async abortIfRequested(): Promise<void> {
    await this.checkRequests().catch((err: unknown) => {
      if (!(err instanceof PromoteNow)) throw err
    })
  }

  /** Acts on `promote`/`abort` asked from another terminal (annotation on the stable Deployment). */
  private async checkRequests(): Promise<'promote' | 'promote-step' | undefined> {
    await this.view.ready
    const d = await this.mustStable()
    const req = d?.metadata.annotations?.[REQUEST_ANNOTATION]
    if (!req) return undefined
    if (req === 'abort') {
      await this.lock.patch(this.plan.app, {
        metadata: { annotations: { [REQUEST_ANNOTATION]: null } },
      })
      throw new Abort('aborted on request (edgecanary abort)')
    }
    if (req === 'promote') throw new PromoteNow()
    return req as 'promote-step'
  }

  async pauseUntilPromoted(): Promise<void> {
    await this.transition(
      'Paused',
      `paused after step ${this.state.step + 1}: run \`edgecanary promote --step\` to continue or \`edgecanary abort\``,
    )
    this.deps.progress.note(
      'paused: `edgecanary promote --step` continues, `edgecanary promote` finishes, `edgecanary abort` rolls back',
    )
    for (;;) {
      this.checkSignal()
      await this.reportDrift()
      const r = await this.checkRequests()
      if (r === 'promote-step') {
        await this.lock.patch(this.plan.app, {
          metadata: { annotations: { [REQUEST_ANNOTATION]: null } },
        })
        return
      }
      await this.view.changed(1000, this.deps.signal)
    }
  }

  /** Replica counts that differ from the plan's current step: someone scaled by hand. */
  private async reportDrift(): Promise<void> {
    const step = this.state.steps[this.state.step]
    if (!step) return
    const stable = await this.mustStable()
    const canary = this.view.deployment(canaryName(this.plan.app))
    this.lock.saw(canary)
    const drift = driftOf(
      step,
      { stable: stable.spec.replicas ?? 0, canary: canary?.spec.replicas ?? 0 },
      { app: this.plan.app, step: this.state.step + 1 },
    )
    if (drift === this.state.drift) return
    this.state.drift = drift
    const d = await this.lock.patch(this.plan.app, statePatch(this.state))
    if (drift) {
      await this.cluster.recordEvent(this.ns, d, 'CanaryDrift', drift, 'Warning')
      this.deps.progress.note(`drift: ${drift}; the next step or promotion sets the counts again`)
    }
  }

  async promote(): Promise<void> {
    const h = this.deps.progress.step(
      `promote ${this.plan.version} to all ${this.state.replicas} stable pods`,
    )
    await this.lock.patch(this.plan.app, {
      metadata: { annotations: { [REQUEST_ANNOTATION]: null } },
    })
    await this.transition('Promoting', `promoting ${this.plan.version}`)
    const stable = await this.mustStable()
    const containers = stable.spec.template.spec.containers.map((c, i) =>
      i === 0 ? { ...c, image: this.state.image } : c,
    )
    await this.patchStableSpec({
      spec: {
        replicas: this.state.replicas,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '100%', maxUnavailable: 0 } },
        template: { spec: { containers } },
      },
    })
    const asked = Date.now()
    // read while the new pods start, so the append at the end is one write
    const history = this.cluster.getConfigMap(this.ns, historyName(this.plan.app))
    history.catch(() => {})
    // each new stable pod is asked its /version as soon as it answers, while the rollout goes on:
    // once the Deployment is complete, only a pod not asked yet is left to ask
    const answers = this.askVersionsWhileRolling()
    try {
      await this.waitStable(this.state.replicas, true)
    } finally {
      answers.stop()
    }
    this.podStartMs += Date.now() - asked
    const pods = this.view.podsOf('stable')
    const updated = pods.filter((x) => x.spec.containers[0]?.image === this.state.image)
    const versions = await Promise.all(
      updated.map(async (p) => {
        const known = await answers.answer(p)
        if (known !== undefined) return { pod: p.metadata.name, version: known }
        // Ready already says /health answers: only /version is asked
        const r = await this.ask(p, '/version')
        return { pod: p.metadata.name, version: r.status === 200 ? r.body.trim() : `HTTP ${r.status}` }
      }),
    )
    for (const c of versions) {
      if (c.version !== this.plan.version)
        throw new Rollback(`after promotion ${c.pod} answers /version "${c.version}"`)
    }
    // the canary goes while the phase is written: a stop between the two resumes in promote(),
    // which finds the stable done and the canary at 0
    await Promise.all([
      this.transition('Finalising', 'stable runs the new version; removing the canary'),
      this.lock.patch(canaryName(this.plan.app), { spec: { replicas: 0 } }).catch(keepLockHeld),
    ])
    this.state.reason = undefined
    await this.transition('Succeeded', `${this.plan.version} promoted`)
    // the history is unfenced (a ConfigMap written with its own resourceVersion): it follows the
    // fenced write of the final phase, so the Lease can go beside it; a holder taking over after
    // that sees a finished release and does nothing
    await Promise.all([appendHistory(this.cluster, this.state, history), this.lock.release().catch(() => {})])
    h.done(`${this.plan.app} ${this.plan.version} on ${this.state.replicas}/${this.state.replicas} pods`)
  }

  /**
   * Asks each running pod of the stable Deployment at the release's image for its /version
   * through the pod proxy, as soon as it runs, until it has answered 200 or `stop()`. A pod's
   * answer (by uid) does not change while its container runs that image, so it stands for the
   * check after the rollout; anything else (not listening yet, an error) is asked again 100 ms
   * later. `answer(p)` waits for an ask still under way rather than sending another.
   */
  private askVersionsWhileRolling(): { answer(p: Pod): Promise<string | undefined>; stop(): void } {
    const asks = new Map<string, Promise<string | undefined>>()
    const known = new Set<string>()
    const notBefore = new Map<string, number>()
    let stopped = false
    const uidOf = (p: Pod) => p.metadata.uid ?? p.metadata.name
    void (async () => {
      for (let i = 0; !stopped && i < 4000; i++) {
        const updated = this.view
          .podsOf('stable')
          .filter((p) => p.spec.containers[0]?.image === this.state.image)
        // every new pod has answered: the rollout has nothing more to show
        if (updated.length >= this.state.replicas && updated.every((p) => known.has(uidOf(p)))) return
        for (const p of updated) {
          const uid = uidOf(p)
          if (stopped || known.has(uid) || asks.has(uid) || Date.now() < (notBefore.get(uid) ?? 0)) continue
          if (!p.status?.containerStatuses?.[0]?.state?.running) continue
          const ask = this.ask(p, '/version')
            .then((r) => (r.status === 200 ? r.body.trim() : undefined))
            .catch(() => undefined)
          asks.set(uid, ask)
          void ask.then((v) => {
            if (v !== undefined) return known.add(uid)
            asks.delete(uid)
            notBefore.set(uid, Date.now() + 100)
          })
        }
        // the next pod change wakes this; a pod that did not answer yet is asked again in 100 ms
        await this.view.changed(100)
      }
    })()
    return {
      answer: async (p) => asks.get(uidOf(p)) ?? undefined,
      stop: () => {
        stopped = true
      },
    }
  }

  async rollback(reason: string, final: 'RolledBack' | 'Aborted'): Promise<void> {
    // the reason is printed once, by the command's `Error: … rolled back: <reason>`
    const h = this.deps.progress.step('roll back')
    this.state.reason = reason
    this.sawFailure(Date.now())
    this.stopLoad()
    if (reason.startsWith('pre-traffic gate')) this.record('gate', reason)
    await this.transition('RollingBack', reason, 'Warning')
    const stable = await this.mustStable()
    const containers = stable.spec.template.spec.containers.map((c, i) =>
      i === 0 ? { ...c, image: this.state.previousImage } : c,
    )
    await this.patchStableSpec({
      spec: { replicas: this.state.replicas, template: { spec: { containers } } },
    })
    // stable back to full strength and Ready before any canary pod goes
    await this.waitStable(this.state.replicas, true).catch(() => undefined)
    await this.lock.patch(canaryName(this.plan.app), { spec: { replicas: 0 } }).catch(keepLockHeld)
    this.state.timings = {
      failureSeenAt: new Date(this.firstFailure ?? Date.now()).toISOString(),
      rollbackDoneAt: new Date().toISOString(),
    }
    await this.transition(final, reason, 'Warning')
    await appendHistory(this.cluster, this.state)
    // the title names the reason already; the end says where the cluster stands
    h.fail(`stable back to ${this.state.replicas}/${this.state.replicas} pods, canary at 0`)
  }
}
