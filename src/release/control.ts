import type { Config } from '../core/config.js'
import { parseDuration } from '../core/config.js'
import { UsageError } from '../errors.js'
import type { Cluster, Progress } from '../ports.js'
import { type ReleaseResult, runRelease } from './engine.js'
import { FINAL_PHASES, REQUEST_ANNOTATION, readState } from './state.js'
import { releaseStatus } from './status.js'

/**
 * `promote` / `abort` from another terminal: with a live holder, ask it through an annotation
 * on the stable Deployment (it acts within one interval); without one, take the Lease and do
 * the work here by resuming the release with the request already set.
 */
export async function requestControl(
  cluster: Cluster,
  progress: Progress,
  o: { ns: string; config: Config; request: 'promote' | 'promote-step' | 'abort'; signal?: AbortSignal },
): Promise<{ delegated: boolean; result?: ReleaseResult }> {
  const st = await releaseStatus(cluster, o.ns, o.config.app)
  const stable = await cluster.getDeployment(o.ns, o.config.app)
  const s = readState(stable)
  if (!s || FINAL_PHASES.includes(s.phase)) {
    throw new UsageError(
      `no release of ${o.config.app} is in progress in ${o.ns}${s ? ` (last: ${s.version} ${s.phase})` : ''}`,
      { hint: 'start one with `edgecanary release VERSION`' },
    )
  }
  await cluster.patchDeployment(o.ns, o.config.app, {
    metadata: { annotations: { [REQUEST_ANNOTATION]: o.request } },
  })
  if (st.holder) {
    progress.note(`asked ${st.holder} to ${o.request}; it acts within one analysis interval`)
    return { delegated: true }
  }
  progress.note(`no live release process: taking over to ${o.request}`)
  const result = await runRelease(
    { cluster, progress, signal: o.signal },
    {
      app: s.app,
      namespace: o.ns,
      version: s.version,
      image: s.image,
      steps: s.steps,
      replicas: s.replicas,
      env: s.env,
      analysis: o.config.analysis,
      readinessDeadlineMs: parseDuration(o.config.readinessDeadline),
      ...(o.config.readinessWarmup ? { readinessWarmupMs: parseDuration(o.config.readinessWarmup) } : {}),
      progressDeadlineMs: parseDuration(o.config.progressDeadline),
      leaseSeconds: parseDuration(o.config.leaseDuration) / 1000,
      pause: false,
      notify: o.config.notify,
    },
  )
  return { delegated: false, result }
}
