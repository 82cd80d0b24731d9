// The release engine's orchestration: open the release (start, resume, no-op or refuse), run
// its steps (or go on promoting), promote, and roll back or record an interruption. The parts
// are split by concern: run.ts (opening, shared context), steps.ts, waits.ts, gates.ts,
// analysis-loop.ts, promote.ts, rollback.ts; the decisions are pure functions in src/core.
import { systemClock } from '../adapters/system-clock.js'
import { resumesInPromotion } from '../core/release-decisions.js'
import { Interrupted, ReleaseFailed } from '../errors.js'
import { canaryDeployment, canaryName, GATE, versionOf } from './objects.js'
import { promote } from './promote.js'
import { rollback } from './rollback.js'
import {
  Abort,
  openRelease,
  PromoteNow,
  type ReleaseDeps,
  type ReleasePlanInput,
  type ReleaseResult,
  Rollback,
} from './run.js'
import type { ReleaseState } from './state.js'
import { ensureCanary, runStep } from './steps.js'
import { pauseUntilPromoted } from './waits.js'

export type { ReleaseDeps, ReleasePlanInput, ReleaseResult }
export { canaryDeployment, canaryName, GATE, versionOf }

/**
 * Runs (or resumes) a replica-ratio canary release to promotion or rollback. Returns the
 * result on promotion; throws ReleaseFailed after a rollback, Interrupted on SIGINT, LockHeld
 * when another process holds the app's Lease.
 */
export async function runRelease(deps: ReleaseDeps, plan: ReleasePlanInput): Promise<ReleaseResult> {
  const { progress } = deps
  const clock = deps.clock ?? systemClock
  const t0 = clock.now()
  const ns = plan.namespace
  const opened = await openRelease(deps, plan)
  if (opened.kind === 'noop') return result(opened.state, false, true)
  const { run: ctx, resumed, claimed } = opened
  const { state, lock, view } = ctx
  // read before the transition below overwrites it: a release stopped while promoting goes on
  // promoting (going back to its last step would scale the already-updated stable down again)
  const inPromotion = resumesInPromotion(resumed, state.phase)
  try {
    if (resumed)
      progress.note(`resuming ${plan.app} ${plan.version} from phase ${state.phase}, step ${state.step + 1}`)
    await ctx.transition('Progressing', resumed ? 'resumed' : `release ${plan.version} started`)
    if (inPromotion) {
      // `edgecanary abort` that took over a stopped promotion still rolls back
      await ctx.abortIfRequested()
      await promote(ctx)
    } else {
      // the Deployments as the claims left them: only the epoch annotation changed since the reads
      await ensureCanary(ctx, claimed[0], claimed[1])
      try {
        for (let i = Math.max(0, state.step); i < state.steps.length; i++) {
          await runStep(ctx, i)
          if (plan.pause && i < state.steps.length - 1) await pauseUntilPromoted(ctx)
        }
      } catch (err) {
        // `edgecanary promote` from another terminal: skip the remaining steps
        if (!(err instanceof PromoteNow)) throw err
      }
      await promote(ctx)
    }
    return result(state, resumed, false, ctx.podStartMs)
  } catch (err) {
    if (err instanceof Rollback || err instanceof Abort) {
      await rollback(ctx, err.message, err instanceof Abort ? 'Aborted' : 'RolledBack')
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
      durationMs: clock.now() - t0,
      podStartMs: Math.round(podStartMs),
    }
  }
}
