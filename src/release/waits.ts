// The waits of a release, all through its watches (watches.ts): for canary pods to start and
// pass the pre-traffic gate, for the stable Deployment's rollout, and for a person while paused.
// Each wait also watches for what ends it early: a fast-fail of the canary pods, readiness
// failures as evidence, the progress deadline, `abort`/`promote` from another terminal.
import { fastFailReason } from '../core/fast-fail.js'
import { podViewOf } from '../core/pod-view.js'
import {
  driftOf,
  failureStart,
  progressDeadlineReason,
  readinessDeadlineReason,
} from '../core/release-decisions.js'
import { stableReached } from '../core/rollout.js'
import type { Pod } from '../ports.js'
import { openGates } from './gates.js'
import { canaryName, cond, GATE } from './objects.js'
import { type ReleaseRun, Rollback } from './run.js'

/** Rolls back when the canary pods' status says they can never become healthy (fastFailReason). */
export async function fastFail(r: ReleaseRun, pods: Pod[]): Promise<void> {
  const reason = fastFailReason(pods.map(podViewOf))
  if (reason) {
    // the failure began when the first canary container ended, not when the pattern was clear
    r.sawFailure(
      failureStart(
        pods.flatMap((p) => p.status?.containerStatuses ?? []),
        r.clock.now(),
      ),
    )
    r.record('fast-fail', reason)
    throw new Rollback(reason)
  }
}

/** Waits for `n` canary pods to be ContainersReady (their readiness probe passed), or rolls back on what says they never will. */
export async function waitCanaryContainersReady(r: ReleaseRun, n: number): Promise<void> {
  const deadline = r.clock.now() + r.plan.readinessDeadlineMs
  for (;;) {
    r.checkSignal()
    await r.checkRequests()
    const pods = await r.canaryPods()
    await fastFail(r, pods)
    const ready = pods.filter((p) => cond(p, 'ContainersReady'))
    if (ready.length >= n) return
    judgeStartingPods(r, pods)
    progressDeadline(r)
    if (r.clock.now() > deadline) {
      throw new Rollback(
        readinessDeadlineReason(
          pods.map((p) => ({
            name: p.metadata.name,
            waiting: p.status?.containerStatuses?.[0]?.state?.waiting?.reason,
            phase: p.status?.phase,
          })),
          ready.length,
          n,
          r.plan.readinessDeadlineMs,
        ),
      )
    }
    await r.view.changed(250, r.deps.signal)
  }
}

/** The canary Deployment's Progressing condition (watched): ProgressDeadlineExceeded is a named fast-fail. */
function progressDeadline(r: ReleaseRun): void {
  const c = r.view.deployment(canaryName(r.plan.app))
  r.lock.saw(c)
  const reason = progressDeadlineReason(
    canaryName(r.plan.app),
    c?.spec.progressDeadlineSeconds as number | undefined,
    c?.status?.conditions,
  )
  if (reason) throw new Rollback(reason)
}

function judgeStartingPods(r: ReleaseRun, pods: Pod[]): void {
  const v = r.starting.judge(pods)
  if (v) {
    r.sawFailure(v.firstFailureAt)
    throw new Rollback(`pre-traffic gate: ${v.reason}`)
  }
}

/** The pre-traffic gate of every canary pod not yet in the Service (gates.ts). */
export async function gateCanaryPods(r: ReleaseRun): Promise<void> {
  const reason = await openGates({
    pods: await r.canaryPods(),
    target: r.plan.version,
    ask: (pod, path) => r.ask(pod, path),
    stillWanted: (pod) => stillWanted(r, pod),
    checkLock: () => r.lock.check(),
    open: (pod) => r.cluster.setPodCondition(r.ns, pod.metadata.name, GATE, true, 'PreTrafficGatePassed'),
  })
  if (reason) throw new Rollback(reason)
}

/** The pod as the API server has it now: there, and not being deleted. */
async function stillWanted(r: ReleaseRun, pod: Pod): Promise<boolean> {
  const now = await r.cluster.listPods(r.ns, `app=${r.plan.app},track=canary`)
  const p = now.find((x) => x.metadata.name === pod.metadata.name)
  return Boolean(p && !p.metadata.deletionTimestamp)
}

/** Waits for `n` canary pods to be Ready (in the Service), opening the gate of any that start meanwhile. */
export async function waitCanaryReady(r: ReleaseRun, n: number): Promise<void> {
  const deadline = r.clock.now() + r.plan.readinessDeadlineMs
  for (;;) {
    r.checkSignal()
    const pods = await r.canaryPods()
    await fastFail(r, pods)
    if (pods.filter((p) => cond(p, 'Ready')).length >= n) return
    if (r.clock.now() > deadline) throw new Rollback('canary pods passed the gate but did not become Ready')
    await gateCanaryPods(r)
    await r.view.changed(250, r.deps.signal)
  }
}

/**
 * Waits until the stable Deployment has `n` ready pods and, with `all`, only updated ones:
 * the watched Deployment ends the wait as soon as the controller reports it.
 */
export async function waitStable(r: ReleaseRun, n: number, all: boolean): Promise<void> {
  const deadline = r.clock.now() + r.plan.readinessDeadlineMs
  await r.view.ready
  for (;;) {
    const d = await r.mustStable()
    // the watched copy may not show this process's last spec write yet: only a copy at least that new decides
    if (r.isCurrent(d) && stableReached({ generation: d.metadata.generation, status: d.status }, n, all))
      return
    if (r.clock.now() > deadline)
      throw new Rollback(
        `stable ${r.plan.app} did not reach ${n} ready pod(s) in ${r.plan.readinessDeadlineMs / 1000}s`,
      )
    await r.view.changed(1000, r.deps.signal)
  }
}

/** Paused after a step: waits for `edgecanary promote --step` (returns), `promote` or `abort` (throw). */
export async function pauseUntilPromoted(r: ReleaseRun): Promise<void> {
  await r.transition(
    'Paused',
    `paused after step ${r.state.step + 1}: run \`edgecanary promote --step\` to continue or \`edgecanary abort\``,
  )
  r.deps.progress.note(
    'paused: `edgecanary promote --step` continues, `edgecanary promote` finishes, `edgecanary abort` rolls back',
  )
  for (;;) {
    r.checkSignal()
    await reportDrift(r)
    if ((await r.checkRequests()) === 'promote-step') {
      await r.clearRequest()
      return
    }
    await r.view.changed(1000, r.deps.signal)
  }
}

/** Replica counts that differ from the plan's current step: someone scaled by hand. */
async function reportDrift(r: ReleaseRun): Promise<void> {
  const step = r.state.steps[r.state.step]
  if (!step) return
  const stable = await r.mustStable()
  const canary = r.view.deployment(canaryName(r.plan.app))
  r.lock.saw(canary)
  const drift = driftOf(
    step,
    { stable: stable.spec.replicas ?? 0, canary: canary?.spec.replicas ?? 0 },
    { app: r.plan.app, step: r.state.step + 1 },
  )
  if (drift === r.state.drift) return
  r.state.drift = drift
  const d = await r.writeState()
  if (drift) {
    await r.cluster.recordEvent(r.ns, d, 'CanaryDrift', drift, 'Warning')
    r.deps.progress.note(`drift: ${drift}; the next step or promotion sets the counts again`)
  }
}
