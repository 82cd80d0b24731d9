// A release's run: how it starts (start, resume, no-op or refuse), and the context every part
// of it shares (state writes, the timeline, requests from other terminals, the load, the pods).
import { systemClock } from '../adapters/system-clock.js'
import type { PodCheck, RequestSample } from '../core/analysis.js'
import { type AnalysisConfig, parseDuration } from '../core/config.js'
import { type MetricResult, promDuration } from '../core/prometheus.js'
import { warmupAllowanceMs } from '../core/readiness-evidence.js'
import { type RequestAction, requestAction, startDecision } from '../core/release-decisions.js'
import type { PlanStep } from '../core/release-plan.js'
import { addEvent, addInterval, endSteps, intervalStats, type TimelineEventKind } from '../core/timeline.js'
import { Interrupted, LockHeld, UsageError } from '../errors.js'
import type {
  Clock,
  Cluster,
  Deployment,
  LoadGenerator,
  Notifier,
  Pod,
  Progress,
  ReleaseEvent,
} from '../ports.js'
import { httpLoad } from '../verify/traffic.js'
import { podAsker, probePod } from './gates.js'
import { acquireLock, epochOn, type HeldLock, leaseName } from './lock.js'
import { webhookNotifier } from './notify.js'
import { canaryName, cond, GATE, versionOf } from './objects.js'
import { queryMetrics } from './prometheus.js'
import { externalUrl } from './service-url.js'
import { StartingPods } from './starting-pods.js'
import {
  FINAL_PHASES,
  type Phase,
  REQUEST_ANNOTATION,
  type ReleaseState,
  readState,
  statePatch,
} from './state.js'
import { ReleaseView } from './watches.js'

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

/** The engine's side effects: the cluster, and (defaults: the production adapters) time, load and webhooks. */
export interface ReleaseDeps {
  cluster: Cluster
  progress: Progress
  signal?: AbortSignal
  /** Default: the system clock (src/adapters/system-clock.ts). */
  clock?: Clock
  /** Default: real HTTP requests to the Service (src/verify/traffic.ts httpLoad). */
  load?: LoadGenerator
  /** Default: webhook POSTs (src/release/notify.ts webhookNotifier). */
  notifier?: Notifier
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

/** Ends the release with a rollback (the message is the reason). */
export class Rollback extends Error {}
/** Ends the release as Aborted (`edgecanary abort`). */
export class Abort extends Error {}
/** Skips the remaining steps (`edgecanary promote` from another terminal). */
export class PromoteNow extends Error {}

/** A best-effort write may fail quietly, except when the fence refused it: then the holder must stop. */
export function keepLockHeld(err: unknown): undefined {
  if (err instanceof LockHeld) throw err
  return undefined
}

/** How `release` starts, once the cluster's stored release has been read (startDecision). */
export type Opened =
  | { kind: 'noop'; state: ReleaseState }
  | {
      kind: 'run'
      run: ReleaseRun
      resumed: boolean
      /** The Deployments as the claims left them: only the epoch annotation changed since the reads. */
      claimed: (Deployment | undefined)[]
    }

/**
 * Reads the app's Deployments and decides (startDecision): a release already Succeeded is a
 * no-op; another version's unfinished release refuses (UsageError); otherwise takes the app's
 * Lease, claims both Deployments with its epoch, and returns the run with a fresh or resumed state.
 */
export async function openRelease(deps: ReleaseDeps, plan: ReleasePlanInput): Promise<Opened> {
  const { cluster, progress } = deps
  const clock = deps.clock ?? systemClock
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
    return { kind: 'noop', state: prior }
  }
  if (start.action === 'refuse') {
    throw new UsageError(`a release of ${plan.app} ${start.running} is in phase ${start.phase}`, {
      hint: `finish it with \`edgecanary promote\` or \`edgecanary abort\`, or resume it with \`edgecanary release ${start.running}\``,
    })
  }
  // epochs only grow: above any epoch already on the app's Deployments, even if the Lease was deleted
  const floor = Math.max(epochOn(stable0)?.n ?? -1, epochOn(canary0)?.n ?? -1) + 1
  // from here on the release follows its pods, Deployments and Lease by watch, not by polls
  const view = new ReleaseView(cluster, ns, plan.app, leaseName(plan.app), clock)
  let lock: HeldLock
  try {
    lock = await acquireLock(cluster, ns, plan.app, plan.leaseSeconds, {
      floor,
      watched: () => view.currentLease(),
      clock,
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
  const now = new Date(clock.now()).toISOString()
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
          startedAt: now,
          updatedAt: now,
        }
  return { kind: 'run', run: new ReleaseRun(deps, plan, state, lock, view), resumed, claimed }
}

/**
 * What every part of a running release shares: its plan, state, Lease, watches and ports, and
 * the small acts they all use (a state transition, a timeline event, a pod probe, a request
 * from another terminal). The parts themselves are in steps.ts, waits.ts, promote.ts and
 * rollback.ts; the analysis loop in analysis-loop.ts.
 */
export class ReleaseRun {
  readonly ns: string
  readonly intervalMs: number
  readonly clock: Clock
  readonly cluster: Cluster
  /** Readiness failures of starting canary pods as evidence (starting-pods.ts). */
  readonly starting: StartingPods
  /** The requests through the Service in the current analysis interval. */
  samples: RequestSample[] = []
  private load?: { stop(): Promise<void> }
  /** Time spent waiting for new pods to be started and Ready (canary steps, promotion rollout). */
  podStartMs = 0
  /** The canary replicas this process last asked for ahead of a step (ensureCanary, the warming in steps.ts analyse). */
  warmedTo?: number
  /** The stable Deployment's generation after this process's last change of its spec. */
  private stableGeneration = 0
  /** The first moment a failure signal was seen (a bad probe answer, a canary 5xx, a crashed pod). */
  firstFailure?: number
  /** Events go out one after another, in order, beside the release rather than in its path. */
  private events: Promise<unknown> = Promise.resolve()

  constructor(
    readonly deps: ReleaseDeps,
    readonly plan: ReleasePlanInput,
    readonly state: ReleaseState,
    readonly lock: HeldLock,
    readonly view: ReleaseView,
  ) {
    this.ns = plan.namespace
    this.intervalMs = parseDuration(plan.analysis.interval)
    this.clock = deps.clock ?? systemClock
    this.cluster = deps.cluster
    this.starting = new StartingPods({
      view,
      ask: (pod, path) => this.ask(pod, path),
      target: plan.version,
      warmupMs: (pod) =>
        plan.readinessWarmupMs ??
        warmupAllowanceMs(pod.spec.containers[0]?.readinessProbe, plan.readinessDeadlineMs),
      now: () => this.clock.now(),
    })
  }

  checkSignal(): void {
    if (this.deps.signal?.aborted)
      throw new Interrupted(`release ${this.plan.version} interrupted`, {
        hint: `resume with \`edgecanary release ${this.plan.version}\`, or roll back with \`edgecanary abort\``,
      })
  }

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

  elapsedMs(): number {
    return this.clock.now() - Date.parse(this.state.startedAt)
  }

  /** When the state was last written (ms since the epoch). */
  lastWriteAt = 0

  /**
   * The fenced write of the state on the stable Deployment; `annotations` go in the same write
   * (null removes one).
   */
  async writeState(annotations: Record<string, string | null> = {}): Promise<Deployment> {
    const patch = statePatch(this.state, this.clock.now()) as {
      metadata: { annotations: Record<string, string | null> }
    }
    Object.assign(patch.metadata.annotations, annotations)
    const d = await this.lock.patch(this.plan.app, patch)
    this.lastWriteAt = this.clock.now()
    return d
  }

  /**
   * A phase change: stored on the stable Deployment (with `annotations`, in the same write),
   * then its Event (beside the release) and its notification.
   */
  async transition(
    phase: Phase,
    message: string,
    type: 'Normal' | 'Warning' = 'Normal',
    annotations: Record<string, string | null> = {},
  ): Promise<void> {
    this.state.phase = phase
    if (phase === 'Promoting' || FINAL_PHASES.includes(phase))
      this.state.timeline = endSteps(this.state.timeline, this.elapsedMs())
    this.record('phase', `${phase}: ${message}`)
    if (phase === 'RolledBack' || phase === 'Aborted' || phase === 'RollingBack')
      this.state.reason = this.state.reason ?? message
    // the event and the notification follow a state write the fence let through
    const d = await this.writeState(annotations)
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
      at: new Date(this.clock.now()).toISOString(),
    }
    if (this.plan.notify.length > 0)
      await (this.deps.notifier ?? webhookNotifier).notify(this.plan.notify, ev)
  }

  /** Notes when a failure signal was first seen (the rollback timings). */
  sawFailure(at: number): void {
    if (this.firstFailure === undefined || at < this.firstFailure) this.firstFailure = at
  }

  async mustStable(): Promise<Deployment> {
    // the watched copy; a Deployment without the app label (made by hand) is read instead
    const d =
      this.view.deployment(this.plan.app) ?? (await this.cluster.getDeployment(this.ns, this.plan.app))
    this.lock.saw(d)
    if (!d) throw new Rollback(`Deployment ${this.plan.app} disappeared`)
    return d
  }

  /** A fenced change of the stable Deployment's spec; the waits then wait for a copy of at least its generation. */
  async patchStableSpec(patch: object): Promise<void> {
    const d = await this.lock.patch(this.plan.app, patch)
    this.stableGeneration = Math.max(this.stableGeneration, d.metadata.generation ?? 0)
  }

  /** Whether a watched copy of the stable Deployment is at least as new as this process's last spec write. */
  isCurrent(d: Deployment): boolean {
    return (d.metadata.generation ?? 0) >= this.stableGeneration
  }

  async canaryPods(): Promise<Pod[]> {
    await this.view.ready
    return this.view.podsOf('canary')
  }

  /** /health and /version of every canary pod in the Service (past the pre-traffic gate), asked at once. */
  async checkServingPods(): Promise<PodCheck[]> {
    const serving = (await this.canaryPods()).filter((p) => cond(p, GATE))
    return Promise.all(serving.map((p) => probePod((x, path) => this.ask(x, path), p)))
  }

  /** A GET of the pod's own port through the API server's pod proxy (gates.ts). */
  ask(pod: Pod, path: string): Promise<{ status: number; body: string }> {
    return podAsker(this.cluster, this.ns)(pod, path)
  }

  async startLoadIfNeeded(): Promise<void> {
    if (this.load || this.plan.analysis.load <= 0) return
    const url = await externalUrl(this.cluster, this.ns, this.plan.app).catch(() => undefined)
    if (!url) return
    this.load = (this.deps.load ?? httpLoad).start({
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

  /** Failed analysis checks of this release so far: the threshold counts them across steps, as Flagger does. */
  get failedChecks(): number {
    return this.state.failedChecks ?? 0
  }

  /** The Prometheus checks of `analysis.metrics` for the canary track (none configured: none asked). */
  queryMetrics(): Promise<MetricResult[]> {
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
  recordInterval(samples: RequestSample[], ok: boolean): void {
    this.state.timeline = addInterval(this.state.timeline, {
      step: this.state.step,
      atMs: this.elapsedMs(),
      ok,
      ...intervalStats(samples, this.plan.version),
    })
  }

  /** Clears the request annotation on the stable Deployment (a request acted on). */
  async clearRequest(): Promise<void> {
    await this.lock.patch(this.plan.app, {
      metadata: { annotations: { [REQUEST_ANNOTATION]: null } },
    })
  }

  /** Acts on `promote`/`abort` asked from another terminal (annotation on the stable Deployment). */
  async checkRequests(): Promise<RequestAction | undefined> {
    await this.view.ready
    const d = await this.mustStable()
    const req = requestAction(d?.metadata.annotations?.[REQUEST_ANNOTATION])
    if (req === 'abort') {
      await this.clearRequest()
      throw new Abort('aborted on request (edgecanary abort)')
    }
    if (req === 'promote') throw new PromoteNow()
    return req
  }

  /** Throws Abort when `edgecanary abort` asked for it; any other request is left to the caller. */
  async abortIfRequested(): Promise<void> {
    await this.checkRequests().catch((err: unknown) => {
      if (!(err instanceof PromoteNow)) throw err
    })
  }
}
