import { hostname } from 'node:os'
import type { Cluster, Deployment, Lease } from '../ports.js'
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
  const lease = await cluster.getLease(ns, leaseName(app))
  return statusOf(ns, app, stable, canary, lease)
}

/**
 * `status --watch`'s data: the report again whenever the app's Deployments or Lease change,
 * followed by watches (resumed from their resourceVersion, relisted on 410 Gone), not polls;
 * once a second from what the watches hold (no request), for a Lease that expires without a
 * write. `onReport` gets every report (callers print the ones that differ); resolves when a
 * report says the release ended (`done`) or `signal` aborts, with the last report.
 */
export async function followReleaseStatus(
  cluster: Cluster,
  ns: string,
  app: string,
  onReport: (r: StatusReport) => void,
  o: { done: (r: StatusReport) => boolean; signal?: AbortSignal; maxMs?: number },
): Promise<StatusReport> {
  const deployments = new Map<string, Deployment>()
  let lease: Lease | undefined
  let listed = 0
  let finish: (r: StatusReport) => void = () => {}
  const ended = new Promise<StatusReport>((r) => {
    finish = r
  })
  let last: StatusReport | undefined
  const report = () => {
    if (listed < 3) return
    last = statusOf(ns, app, deployments.get(app), deployments.get(canaryName(app)), lease)
    onReport(last)
    if (o.done(last)) finish(last)
  }
  // one watch per Deployment by name: a stable Deployment made by hand may lack the app label
  const stops = [
    ...[app, canaryName(app)].map((name) =>
      cluster.inform(
        'deployments',
        ns,
        { field: `metadata.name=${name}` },
        {
          onList: (items) => {
            if (items[0]) deployments.set(name, items[0])
            else deployments.delete(name)
            if (listed < 3) listed++
            report()
          },
          onEvent: (type, d) => {
            if (type === 'DELETED') deployments.delete(name)
            else deployments.set(name, d)
            report()
          },
        },
      ),
    ),
    cluster.inform(
      'leases',
      ns,
      { field: `metadata.name=${leaseName(app)}` },
      {
        onList: (items) => {
          lease = items[0]
          if (listed < 3) listed++
          report()
        },
        onEvent: (type, l) => {
          lease = type === 'DELETED' ? undefined : l
          report()
        },
      },
    ),
  ]
  const tick = setInterval(report, 1000)
  const limit = setTimeout(() => last && finish(last), o.maxMs ?? 10 * 3600_000)
  const abort = () => {
    if (last) finish(last)
    else void releaseStatus(cluster, ns, app).then(finish, () => {})
  }
  o.signal?.addEventListener('abort', abort, { once: true })
  try {
    return await ended
  } finally {
    clearInterval(tick)
    clearTimeout(limit)
    o.signal?.removeEventListener('abort', abort)
    for (const stop of stops) stop()
  }
}

/** The status report from the app's two Deployments and its Lease, however they were read. */
export function statusOf(
  ns: string,
  app: string,
  stable: Deployment | undefined,
  canary: Deployment | undefined,
  lease: Lease | undefined,
): StatusReport {
  const s = readState(stable)
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
