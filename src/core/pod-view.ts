import type { Pod } from '../ports.js'
import type { PodView } from './fast-fail.js'

/**
 * The part of a Pod the fast-fail rules (`fastFailReason`) read: container states, restarts,
 * the PodScheduled=False message, and the node it is bound to.
 *
 *   podViewOf({ metadata: { name: 'kubeapp-x' }, spec: { nodeName: 'pi-2', containers: [] },
 *               status: { containerStatuses: [{ name: 'app', ready: false, restartCount: 2,
 *                 state: { waiting: { reason: 'CrashLoopBackOff' } } }] } })
 *   → { name: 'kubeapp-x', node: 'pi-2', containers: [{ waiting: { reason: 'CrashLoopBackOff' }, restartCount: 2, … }] }
 */
export function podViewOf(p: Pod): PodView {
  return {
    name: p.metadata.name,
    node: p.spec.nodeName,
    phase: p.status?.phase,
    createdAt: p.metadata.creationTimestamp,
    scheduledFalseReason: p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False')
      ?.message,
    containers: (p.status?.containerStatuses ?? []).map((c) => ({
      waiting: c.state?.waiting,
      terminated: c.state?.terminated,
      lastTerminated: c.lastState?.terminated,
      restartCount: c.restartCount,
    })),
  }
}
