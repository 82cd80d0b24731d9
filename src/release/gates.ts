import type { PodCheck } from '../core/analysis.js'
import { type GateDecision, gateDecision } from '../core/release-decisions.js'
import type { Cluster, Pod } from '../ports.js'
import { cond, GATE } from './objects.js'

/** A GET of a pod's path through the API server's pod proxy. */
export type AskPod = (pod: Pod, path: string) => Promise<{ status: number; body: string }>

/** Asks a pod on its own port (its first container port) through the API server's pod proxy. */
export function podAsker(cluster: Cluster, ns: string): AskPod {
  return (pod, path) => {
    const port = pod.spec.containers[0]?.ports?.[0]?.containerPort ?? 8080
    return cluster.podProxyGet(ns, pod.metadata.name, port, path)
  }
}

/** /health and /version of one pod, asked at once. */
export async function probePod(ask: AskPod, pod: Pod): Promise<PodCheck> {
  const [health, version] = await Promise.all([ask(pod, '/health'), ask(pod, '/version')])
  return {
    pod: pod.metadata.name,
    health: health.status,
    version: version.status === 200 ? version.body.trim() : undefined,
    ...(version.status !== 200 ? { error: `/version answered ${version.status}` } : {}),
  }
}

/**
 * The pre-traffic gate: each canary pod that is ContainersReady but not yet let in is probed
 * (gateDecision: a wrong version fails at once, other failures get two more tries); a passing
 * pod gets the readiness-gate condition that puts it into the Service. Returns the reason of
 * the first pod that fails, undefined when all passed.
 */
export async function openGates(o: {
  pods: Pod[]
  target: string
  ask: AskPod
  /** The pod as the API server has it now is there and not being deleted (asked on failure only). */
  stillWanted(pod: Pod): Promise<boolean>
  /** Throws when this process no longer holds the release's Lease. */
  checkLock(): Promise<void>
  /** Sets the gate condition on the pod. */
  open(pod: Pod): Promise<void>
}): Promise<string | undefined> {
  for (const pod of o.pods) {
    if (cond(pod, GATE) || !cond(pod, 'ContainersReady')) continue
    let decision: GateDecision = { action: 'retry' }
    for (let attempt = 1; decision.action === 'retry'; attempt++) {
      decision = gateDecision(await probePod(o.ask, pod), attempt, o.target)
    }
    if (decision.action === 'fail') {
      // a pod the ReplicaSet is removing (a scale-down the watch has not shown yet) drains and
      // answers 503: only a pod that is still wanted is judged (one read, on this path only)
      if (!(await o.stillWanted(pod))) continue
      return `pre-traffic gate: ${pod.metadata.name} ${decision.reason}`
    }
    // Pods carry no epoch (the ReplicaSet creates them), so this write is checked, not fenced.
    // The window is safe: the gate only opens a pod this holder has just probed healthy at the
    // target version, which is exactly what a new holder would do to the same pod.
    await o.checkLock()
    await o.open(pod)
  }
  return undefined
}
