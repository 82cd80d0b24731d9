// Promotion: the stable Deployment rolls to the new image, each new pod is asked its /version,
// the canary goes, the release is written Succeeded and appended to the history.
import { promotionMismatch } from '../core/release-decisions.js'
import type { Pod } from '../ports.js'
import { canaryName } from './objects.js'
import { keepLockHeld, type ReleaseRun, Rollback } from './run.js'
import { appendHistory, historyName, REQUEST_ANNOTATION } from './state.js'
import { waitStable } from './waits.js'

export async function promote(r: ReleaseRun): Promise<void> {
  const h = r.deps.progress.step(`promote ${r.plan.version} to all ${r.state.replicas} stable pods`)
  // a `promote` request that ended the steps is cleared in the same write as the phase
  await r.transition('Promoting', `promoting ${r.plan.version}`, 'Normal', { [REQUEST_ANNOTATION]: null })
  const stable = await r.mustStable()
  const containers = stable.spec.template.spec.containers.map((c, i) =>
    i === 0 ? { ...c, image: r.state.image } : c,
  )
  await r.patchStableSpec({
    spec: {
      replicas: r.state.replicas,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '100%', maxUnavailable: 0 } },
      template: { spec: { containers } },
    },
  })
  const asked = r.clock.now()
  // read while the new pods start, so the append at the end is one write
  const history = r.cluster.getConfigMap(r.ns, historyName(r.plan.app))
  history.catch(() => {})
  // each new stable pod is asked its /version as soon as it answers, while the rollout goes on:
  // once the Deployment is complete, only a pod not asked yet is left to ask
  const answers = askVersionsWhileRolling(r)
  try {
    await waitStable(r, r.state.replicas, true)
  } finally {
    answers.stop()
  }
  r.podStartMs += r.clock.now() - asked
  const pods = r.view.podsOf('stable')
  const updated = pods.filter((x) => x.spec.containers[0]?.image === r.state.image)
  const versions = await Promise.all(
    updated.map(async (p) => {
      const known = await answers.answer(p)
      if (known !== undefined) return { pod: p.metadata.name, version: known }
      // Ready already says /health answers: only /version is asked
      const a = await r.ask(p, '/version')
      return { pod: p.metadata.name, version: a.status === 200 ? a.body.trim() : `HTTP ${a.status}` }
    }),
  )
  const wrong = promotionMismatch(versions, r.plan.version)
  if (wrong) throw new Rollback(wrong)
  // the canary goes while the phase is written: a stop between the two resumes in promote(),
  // which finds the stable done and the canary at 0
  await Promise.all([
    r.transition('Finalising', 'stable runs the new version; removing the canary'),
    r.lock.patch(canaryName(r.plan.app), { spec: { replicas: 0 } }).catch(keepLockHeld),
  ])
  r.state.reason = undefined
  await r.transition('Succeeded', `${r.plan.version} promoted`)
  // the history is unfenced (a ConfigMap written with its own resourceVersion): it follows the
  // fenced write of the final phase, so the Lease can go beside it; a holder taking over after
  // that sees a finished release and does nothing
  await Promise.all([appendHistory(r.cluster, r.state, history), r.lock.release().catch(() => {})])
  h.done(`${r.plan.app} ${r.plan.version} on ${r.state.replicas}/${r.state.replicas} pods`)
}

/**
 * Asks each running pod of the stable Deployment at the release's image for its /version
 * through the pod proxy, as soon as it runs, until it has answered 200 or `stop()`. A pod's
 * answer (by uid) does not change while its container runs that image, so it stands for the
 * check after the rollout; anything else (not listening yet, an error) is asked again 100 ms
 * later. `answer(p)` waits for an ask still under way rather than sending another.
 */
function askVersionsWhileRolling(r: ReleaseRun): {
  answer(p: Pod): Promise<string | undefined>
  stop(): void
} {
  const asks = new Map<string, Promise<string | undefined>>()
  const known = new Set<string>()
  const notBefore = new Map<string, number>()
  let stopped = false
  const uidOf = (p: Pod) => p.metadata.uid ?? p.metadata.name
  void (async () => {
    for (let i = 0; !stopped && i < 4000; i++) {
      const updated = r.view.podsOf('stable').filter((p) => p.spec.containers[0]?.image === r.state.image)
      // every new pod has answered: the rollout has nothing more to show
      if (updated.length >= r.state.replicas && updated.every((p) => known.has(uidOf(p)))) return
      for (const p of updated) {
        const uid = uidOf(p)
        if (stopped || known.has(uid) || asks.has(uid) || r.clock.now() < (notBefore.get(uid) ?? 0)) continue
        if (!p.status?.containerStatuses?.[0]?.state?.running) continue
        const ask = r
          .ask(p, '/version')
          .then((a) => (a.status === 200 ? a.body.trim() : undefined))
          .catch(() => undefined)
        asks.set(uid, ask)
        void ask.then((v) => {
          if (v !== undefined) return known.add(uid)
          asks.delete(uid)
          notBefore.set(uid, r.clock.now() + 100)
        })
      }
      // the next pod change wakes this; a pod that did not answer yet is asked again in 100 ms
      await r.view.changed(100)
    }
  })()
  return {
    answer: async (p) => asks.get(uidOf(p)) ?? undefined,
    stop: () => {
      stopped = true
    },
  }
}
