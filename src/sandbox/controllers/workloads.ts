import { randomBytes } from 'node:crypto'
import { recordEvent } from '../events.js'
import type { LabelSelectorObject } from '../label-selector.js'
import { RES } from '../resources.js'
import { timestamp as iso } from '../store.js'
import type { KObject, ObjectStore, OwnerReference } from '../types.js'
import { cronAction, mostRecentRun } from './cron-schedule.js'
import { daemonPlan } from './daemon-math.js'
import { type JobSpecView, jobBackoffMs, jobDecision } from './job-math.js'
import { isAvailable, isReady, isTerminating, ownedBy } from './pod-state.js'
import { resolveIntOrPercent, templateHash } from './rolling-math.js'

type O = Record<string, unknown>
interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }
  spec: O
}
interface Condition {
  type: string
  status: string
  reason?: string
  message?: string
  lastProbeTime?: string
  lastTransitionTime?: string
}

const phase = (p: KObject) => (p.status as { phase?: string } | undefined)?.phase
const suffix = () => randomBytes(4).toString('hex').slice(0, 5)

function controllerRef(owner: KObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  }
}

/** Creates a pod of `template` owned by `owner` (generateName `<owner>-`), optionally bound to a node. */
function createPod(
  store: ObjectStore,
  owner: KObject,
  template: PodTemplate,
  extra: { labels?: Record<string, string>; nodeName?: string; component: string },
): KObject {
  const name = `${owner.metadata.name}-${suffix()}`
  const pod = store.create(RES.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      generateName: `${owner.metadata.name}-`,
      namespace: owner.metadata.namespace,
      labels: { ...(template.metadata?.labels ?? {}), ...(extra.labels ?? {}) },
      ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
      ownerReferences: [controllerRef(owner)],
    },
    spec: { ...structuredClone(template.spec), ...(extra.nodeName ? { nodeName: extra.nodeName } : {}) },
  })
  recordEvent(store, owner, 'SuccessfulCreate', `Created pod: ${name}`, { component: extra.component })
  return pod
}

function deletePod(store: ObjectStore, owner: KObject, pod: KObject, component: string): void {
  store.delete(RES.pods, pod.metadata.namespace, pod.metadata.name)
  recordEvent(store, owner, 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`, { component })
}

function writeStatus(store: ObjectStore, t: typeof RES.jobs, o: KObject, status: O): void {
  const strip = (s: unknown) =>
    JSON.stringify(s ?? {}, (k, v) => (k === 'lastProbeTime' || k === 'lastTransitionTime' ? undefined : v))
  if (strip(o.status) !== strip(status)) store.updateStatus(t, { ...o, status })
}

// ── ServiceAccounts ────────────────────────────────────────────────────────────────────────

/** The serviceaccount controller of kube-controller-manager: a `default` ServiceAccount in every active namespace. */
export function reconcileServiceAccounts(store: ObjectStore): void {
  for (const ns of store.list(RES.namespaces).items) {
    if (isTerminating(ns)) continue
    if (store.get(RES.serviceaccounts, ns.metadata.name, 'default')) continue
    store.create(RES.serviceaccounts, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace: ns.metadata.name },
    })
  }
}

// ── DaemonSet ──────────────────────────────────────────────────────────────────────────────

interface DaemonSetSpec {
  selector: LabelSelectorObject
  template: PodTemplate
  updateStrategy?: { type?: string; rollingUpdate?: { maxUnavailable?: unknown } }
  minReadySeconds?: number
}

/** One pod per node that matches the template's nodeSelector; RollingUpdate or OnDelete; status for `rollout status`. */
export function reconcileDaemonSet(store: ObjectStore, ds: KObject, now = Date.now()): void {
  if (isTerminating(ds)) return
  const spec = ds.spec as DaemonSetSpec
  const ns = ds.metadata.namespace ?? 'default'
  const hash = templateHash(spec.template)
  const nodeSelector = (spec.template.spec.nodeSelector ?? {}) as Record<string, string>
  const nodes = store.list(RES.nodes).items
  const pods = store.list(RES.pods, { namespace: ns }).items.filter((p) => ownedBy(p, ds.metadata.uid))
  const minReady = spec.minReadySeconds ?? 0
  const view = nodes.map((n) => ({
    name: n.metadata.name,
    wanted: Object.entries(nodeSelector).every(([k, v]) => n.metadata.labels?.[k] === v),
    pods: pods
      .filter((p) => (p.spec as { nodeName?: string }).nodeName === n.metadata.name)
      .filter((p) => !['Succeeded', 'Failed'].includes(String(phase(p))))
      .map((p) => ({
        name: p.metadata.name,
        hash: p.metadata.labels?.['controller-revision-hash'] ?? '',
        available: isAvailable(p, minReady, now),
        terminating: isTerminating(p),
      })),
  }))
  const desired = view.filter((n) => n.wanted).length
  const strategy = spec.updateStrategy?.type ?? 'RollingUpdate'
  const maxUnavailable = Math.max(
    1,
    resolveIntOrPercent(spec.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1, desired, true),
  )
  const plan = daemonPlan(view, hash, strategy, maxUnavailable)
  // pods of finished daemons (a daemon that exited with restartPolicy Always is restarted by the
  // kubelet; Succeeded/Failed pods only happen on eviction) are replaced
  for (const p of pods.filter((x) => ['Succeeded', 'Failed'].includes(String(phase(x))) && !isTerminating(x)))
    deletePod(store, ds, p, 'daemonset-controller')
  for (const name of plan.remove) {
    const p = pods.find((x) => x.metadata.name === name)
    if (p) deletePod(store, ds, p, 'daemonset-controller')
  }
  for (const node of plan.create)
    createPod(store, ds, spec.template, {
      labels: {
        'controller-revision-hash': hash,
        'pod-template-generation': String(ds.metadata.generation ?? 1),
      },
      nodeName: node,
      component: 'daemonset-controller',
    })

  const fresh = store
    .list(RES.pods, { namespace: ns })
    .items.filter((p) => ownedBy(p, ds.metadata.uid) && !isTerminating(p))
  const onWanted = fresh.filter((p) =>
    view.some((n) => n.wanted && n.name === (p.spec as { nodeName?: string }).nodeName),
  )
  const current = new Set(onWanted.map((p) => (p.spec as { nodeName?: string }).nodeName)).size
  const available = onWanted.filter((p) => isAvailable(p, minReady, now)).length
  const status = {
    currentNumberScheduled: current,
    numberMisscheduled: fresh.length - onWanted.length,
    desiredNumberScheduled: desired,
    numberReady: onWanted.filter(isReady).length,
    observedGeneration: ds.metadata.generation,
    updatedNumberScheduled: onWanted.filter((p) => p.metadata.labels?.['controller-revision-hash'] === hash)
      .length,
    numberAvailable: available,
    ...(desired - available > 0 ? { numberUnavailable: desired - available } : {}),
  }
  writeStatus(store, RES.daemonsets, ds, status)
}

// ── ReplicationController is served by the ReplicaSet logic (see index.ts) ───────────────

/** A ReplicationController's map selector as the LabelSelector the ReplicaSet logic reads. */
export function rcSelector(selector: unknown): LabelSelectorObject {
  return { matchLabels: { ...((selector ?? {}) as Record<string, string>) } }
}

// ── Job ────────────────────────────────────────────────────────────────────────────────────

interface JobSpec extends JobSpecView {
  template: PodTemplate
  ttlSecondsAfterFinished?: number
}

/** pkg/controller/job for NonIndexed Jobs: pods up to parallelism, back-off, Complete/Failed, TTL. */
export function reconcileJob(
  store: ObjectStore,
  job: KObject,
  opts: { backoffBaseMs: number; now?: number },
): void {
  const now = opts.now ?? Date.now()
  if (isTerminating(job)) return
  const spec = job.spec as JobSpec
  const ns = job.metadata.namespace ?? 'default'
  const prev = (job.status ?? {}) as {
    startTime?: string
    completionTime?: string
    succeeded?: number
    failed?: number
    conditions?: Condition[]
  }
  const finished = prev.conditions?.find(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  )
  if (finished) {
    const ttl = spec.ttlSecondsAfterFinished
    const at = Date.parse(prev.completionTime ?? finished.lastTransitionTime ?? '')
    if (ttl !== undefined && Number.isFinite(at) && now - at >= ttl * 1000)
      store.delete(RES.jobs, ns, job.metadata.name, { propagationPolicy: 'Background' })
    return
  }
  const pods = store.list(RES.pods, { namespace: ns }).items.filter((p) => ownedBy(p, job.metadata.uid))
  const active = pods.filter((p) => !isTerminating(p) && !['Succeeded', 'Failed'].includes(String(phase(p))))
  const failedPods = pods.filter((p) => phase(p) === 'Failed')
  const succeeded = Math.max(prev.succeeded ?? 0, pods.filter((p) => phase(p) === 'Succeeded').length)
  const restarts =
    spec.template.spec.restartPolicy === 'OnFailure'
      ? active.reduce(
          (n, p) =>
            n +
            (
              (p.status as { containerStatuses?: { restartCount?: number }[] } | undefined)
                ?.containerStatuses ?? []
            ).reduce((m, c) => m + (c.restartCount ?? 0), 0),
          0,
        )
      : 0
  const failed = Math.max(prev.failed ?? 0, failedPods.length)
  const startTime = prev.startTime ?? iso(now)
  const decision = jobDecision(
    spec,
    { active: active.length, succeeded, failures: failed + restarts },
    now - Date.parse(startTime),
  )
  const conds: Condition[] = [...(prev.conditions ?? [])]
  const setCond = (type: string, reason: string, message: string) => {
    if (conds.some((c) => c.type === type)) return
    conds.push({
      type,
      status: 'True',
      reason,
      message,
      lastProbeTime: iso(now),
      lastTransitionTime: iso(now),
    })
  }
  let completionTime: string | undefined
  let activeCount = active.length
  if (decision.kind === 'failed') {
    for (const p of active) deletePod(store, job, p, 'job-controller')
    activeCount = 0
    // Kubernetes 1.31+ adds the interim FailureTarget condition before Failed
    setCond('FailureTarget', decision.reason, decision.message)
    setCond('Failed', decision.reason, decision.message)
    recordEvent(store, job, decision.reason, decision.message, {
      type: 'Warning',
      component: 'job-controller',
    })
  } else if (decision.kind === 'complete') {
    for (const p of active) deletePod(store, job, p, 'job-controller')
    activeCount = 0
    setCond('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods')
    setCond('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods')
    completionTime = iso(now)
    recordEvent(store, job, 'Completed', 'Job completed', { component: 'job-controller' })
  } else {
    // after a failure the next pod waits the back-off, counted from the last failed pod's end
    const lastFailure = Math.max(
      0,
      ...failedPods.map((p) => {
        const cs = (
          p.status as { containerStatuses?: { state?: { terminated?: { finishedAt?: string } } }[] }
        ).containerStatuses
        return Date.parse(cs?.[0]?.state?.terminated?.finishedAt ?? '') || 0
      }),
    )
    const due = lastFailure + jobBackoffMs(failed, opts.backoffBaseMs)
    if (decision.create > 0 && now >= due) {
      for (let i = 0; i < decision.create; i++) {
        createPod(store, job, spec.template, {
          labels: {
            'batch.kubernetes.io/controller-uid': job.metadata.uid ?? '',
            'batch.kubernetes.io/job-name': job.metadata.name,
            'controller-uid': job.metadata.uid ?? '',
            'job-name': job.metadata.name,
          },
          component: 'job-controller',
        })
      }
      activeCount += decision.create
    }
    for (const p of active.slice(0, decision.remove)) deletePod(store, job, p, 'job-controller')
    activeCount -= Math.min(decision.remove, active.length)
  }
  const status = {
    ...(conds.length ? { conditions: conds } : {}),
    startTime,
    ...(completionTime ? { completionTime } : {}),
    ...(activeCount > 0 ? { active: activeCount } : {}),
    ...(succeeded > 0 ? { succeeded } : {}),
    ...(failed > 0 ? { failed } : {}),
    ready: active.filter(isReady).length,
    terminating: pods.filter(isTerminating).length,
    uncountedTerminatedPods: {},
  }
  writeStatus(store, RES.jobs, job, status)
}

// ── CronJob ────────────────────────────────────────────────────────────────────────────────

interface CronJobSpec {
  schedule: string
  timeZone?: string
  concurrencyPolicy?: string
  suspend?: boolean
  startingDeadlineSeconds?: number
  successfulJobsHistoryLimit?: number
  failedJobsHistoryLimit?: number
  jobTemplate: {
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }
    spec: O
  }
}

const finishedAs = (j: KObject): 'Complete' | 'Failed' | undefined =>
  ((j.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  )?.type as 'Complete' | 'Failed' | undefined

/** pkg/controller/cronjob: Jobs at scheduled times (`<name>-<minutes since epoch>`), concurrencyPolicy, history limits. */
export function reconcileCronJob(store: ObjectStore, cj: KObject, now = Date.now()): void {
  if (isTerminating(cj)) return
  const spec = cj.spec as CronJobSpec
  const ns = cj.metadata.namespace ?? 'default'
  const prev = (cj.status ?? {}) as { lastScheduleTime?: string; lastSuccessfulTime?: string }
  const jobs = store.list(RES.jobs, { namespace: ns }).items.filter((j) => ownedBy(j, cj.metadata.uid))
  const active = jobs.filter((j) => !finishedAs(j) && !isTerminating(j))
  const earliest = Date.parse(prev.lastScheduleTime ?? cj.metadata.creationTimestamp ?? iso(now))
  const run = mostRecentRun(spec.schedule, earliest, now, spec.timeZone ?? 'UTC')
  const action = cronAction({
    policy: spec.concurrencyPolicy ?? 'Allow',
    active: active.length,
    scheduled: run.time,
    now,
    suspend: spec.suspend,
    startingDeadlineSeconds: spec.startingDeadlineSeconds,
  })
  let lastScheduleTime = prev.lastScheduleTime
  if (action === 'replace')
    for (const j of active) {
      store.delete(RES.jobs, ns, j.metadata.name, { propagationPolicy: 'Background' })
      recordEvent(store, cj, 'SuccessfulDelete', `Deleted job ${j.metadata.name}`, {
        component: 'cronjob-controller',
      })
    }
  if ((action === 'create' || action === 'replace') && run.time !== undefined) {
    const name = `${cj.metadata.name}-${Math.floor(run.time / 60_000)}`
    if (!store.get(RES.jobs, ns, name)) {
      store.create(RES.jobs, {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: {
          name,
          namespace: ns,
          labels: { ...(spec.jobTemplate.metadata?.labels ?? {}) },
          annotations: {
            ...(spec.jobTemplate.metadata?.annotations ?? {}),
            'batch.kubernetes.io/cronjob-scheduled-timestamp': new Date(run.time).toISOString(),
          },
          ownerReferences: [controllerRef(cj)],
        },
        spec: structuredClone(spec.jobTemplate.spec),
      })
      recordEvent(store, cj, 'SuccessfulCreate', `Created job ${name}`, { component: 'cronjob-controller' })
    }
    lastScheduleTime = iso(run.time)
  } else if (action === 'skip-forbidden' && run.time !== undefined) {
    recordEvent(
      store,
      cj,
      'JobAlreadyActive',
      'Not starting job because prior execution is running and concurrency policy is Forbid',
      {
        component: 'cronjob-controller',
      },
    )
    lastScheduleTime = iso(run.time)
  } else if (action === 'skip-deadline' && run.time !== undefined) {
    lastScheduleTime = iso(run.time)
  }

  // history: the newest successful and failed Jobs are kept, up to their limits
  const limitOf = { Complete: spec.successfulJobsHistoryLimit ?? 3, Failed: spec.failedJobsHistoryLimit ?? 1 }
  for (const kind of ['Complete', 'Failed'] as const) {
    const done = jobs
      .filter((j) => finishedAs(j) === kind && !isTerminating(j))
      .sort(
        (a, b) =>
          Date.parse(b.metadata.creationTimestamp ?? '') - Date.parse(a.metadata.creationTimestamp ?? ''),
      )
    for (const j of done.slice(limitOf[kind]))
      store.delete(RES.jobs, ns, j.metadata.name, { propagationPolicy: 'Background' })
  }
  const lastSuccess = jobs
    .filter((j) => finishedAs(j) === 'Complete')
    .map((j) => (j.status as { completionTime?: string }).completionTime ?? '')
    .sort()
    .pop()
  const fresh = store.list(RES.jobs, { namespace: ns }).items.filter((j) => ownedBy(j, cj.metadata.uid))
  const status = {
    ...(fresh.some((j) => !finishedAs(j) && !isTerminating(j))
      ? {
          active: fresh
            .filter((j) => !finishedAs(j) && !isTerminating(j))
            .map((j) => ({
              kind: 'Job',
              namespace: ns,
              name: j.metadata.name,
              uid: j.metadata.uid,
              apiVersion: 'batch/v1',
              resourceVersion: j.metadata.resourceVersion,
            })),
        }
      : {}),
    ...(lastScheduleTime ? { lastScheduleTime } : {}),
    ...(lastSuccess || prev.lastSuccessfulTime
      ? { lastSuccessfulTime: lastSuccess || prev.lastSuccessfulTime }
      : {}),
  }
  const strip = (s: unknown) => JSON.stringify(s ?? {}, (k, v) => (k === 'resourceVersion' ? undefined : v))
  if (strip(cj.status) !== strip(status)) store.updateStatus(RES.cronjobs, { ...cj, status })
}
