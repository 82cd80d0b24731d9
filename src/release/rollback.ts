// Rollback: the stable Deployment back to the previous image at full strength, then the canary
// to 0, the final phase written and the release appended to the history.
import { canaryName } from './objects.js'
import { keepLockHeld, type ReleaseRun } from './run.js'
import { appendHistory } from './state.js'
import { waitStable } from './waits.js'

export async function rollback(
  r: ReleaseRun,
  reason: string,
  final: 'RolledBack' | 'Aborted',
): Promise<void> {
  // the reason is printed once, by the command's `Error: … rolled back: <reason>`
  const h = r.deps.progress.step('roll back')
  r.state.reason = reason
  r.sawFailure(r.clock.now())
  r.stopLoad()
  if (reason.startsWith('pre-traffic gate')) r.record('gate', reason)
  await r.transition('RollingBack', reason, 'Warning')
  const stable = await r.mustStable()
  const containers = stable.spec.template.spec.containers.map((c, i) =>
    i === 0 ? { ...c, image: r.state.previousImage } : c,
  )
  await r.patchStableSpec({
    spec: { replicas: r.state.replicas, template: { spec: { containers } } },
  })
  // stable back to full strength and Ready before any canary pod goes
  await waitStable(r, r.state.replicas, true).catch(() => undefined)
  await r.lock.patch(canaryName(r.plan.app), { spec: { replicas: 0 } }).catch(keepLockHeld)
  r.state.timings = {
    failureSeenAt: new Date(r.firstFailure ?? r.clock.now()).toISOString(),
    rollbackDoneAt: new Date(r.clock.now()).toISOString(),
  }
  await r.transition(final, reason, 'Warning')
  await appendHistory(r.cluster, r.state)
  // the title names the reason already; the end says where the cluster stands
  h.fail(`stable back to ${r.state.replicas}/${r.state.replicas} pods, canary at 0`)
}
