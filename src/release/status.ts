import { hostname } from 'node:os'
import type { Cluster } from '../ports.js'
import { canaryName } from './engine.js'
import { holderGone, leaseName, pidAlive } from './lock.js'
import { FINAL_PHASES, type ReleaseState, readState } from './state.js'

export interface StatusReport {
  app: string
  namespace: string
  phase: string
  version?: string
  previousVersion?: string
  /** When the release shown started (tells a new release from the one before). */
  startedAt?: string
  step?: string
  ratio?: string
  stable: { replicas: number; ready: number; image?: string }
  /** `warming`: canary pods started for the next step, held out of the Service by the readiness gate. */
  canary: { replicas: number; ready: number; image?: string; warming?: number }
  holder?: string
  reason?: string
  drift?: string
  lastAnalysis?: ReleaseState['lastAnalysis']
  advice?: string
}

/** What `status` shows, from cluster state only: phase, step, ratio, versions, ready pods, last analysis, and what to do next. */
export async function releaseStatus(cluster: Cluster, ns: string, app: string): Promise<StatusReport> {
  const stable = await cluster.getDeployment(ns, app)
  const canary = await cluster.getDeployment(ns, canaryName(app))
  const s = readState(stable)
  const lease = await cluster.getLease(ns, leaseName(app))
  const holder = lease?.spec.holderIdentity || undefined
  // expired, or held by a process on this host that no longer exists (SIGKILL): the same rule as the lock
  const alive = Boolean(lease && holder && !holderGone(lease.spec, Date.now(), hostname(), pidAlive))
  const sr = stable?.spec.replicas ?? 0
  const cr = canary?.spec.replicas ?? 0
  // during a step's analysis the canary may already run the next step's pods, not yet in the
  // Service (only while Progressing: when paused, extra canary pods are drift, reported as such)
  const stepCanary = s?.phase === 'Progressing' ? s.steps[s.step]?.canary : undefined
  const serving = stepCanary !== undefined ? Math.min(cr, stepCanary) : cr
  let phase = s?.phase ?? (stable ? 'Initialized' : 'NotFound')
  let advice: string | undefined
  if (s && !FINAL_PHASES.includes(s.phase) && !alive) {
    phase = 'Interrupted'
    advice = `the release of ${s.version} stopped in phase ${s.phase} at step ${s.step + 1}: resume with \`edgecanary release ${s.version}\`, finish with \`edgecanary promote\`, or roll back with \`edgecanary abort\``
  }
  return {
    app,
    namespace: ns,
    phase,
    version: s?.version,
    previousVersion: s?.previousVersion,
    startedAt: s?.startedAt,
    step: s && s.step >= 0 ? `${s.step + 1}/${s.steps.length}` : undefined,
    ratio: `${sr}:${serving}`,
    stable: {
      replicas: sr,
      ready: stable?.status?.readyReplicas ?? 0,
      image: stable?.spec.template.spec.containers[0]?.image,
    },
    canary: {
      replicas: cr,
      ready: canary?.status?.readyReplicas ?? 0,
      image: canary?.spec.template.spec.containers[0]?.image,
      ...(cr > serving ? { warming: cr - serving } : {}),
    },
    holder: alive ? holder : undefined,
    reason: s?.reason,
    drift: s && !FINAL_PHASES.includes(s.phase) ? s.drift : undefined,
    lastAnalysis: s?.lastAnalysis,
    advice,
  }
}
