import { randomBytes } from 'node:crypto'
import { recordEvent } from '../events.js'
import { fromSelectorObject, type LabelSelectorObject, matches } from '../label-selector.js'
import { RES } from '../resources.js'
import type { KObject, ObjectStore, Watch } from '../types.js'
import { conditions, deletionOrder, isAvailable, isReady, isTerminating, ownedBy } from './pod-state.js'
import { fenceposts, maxScaleDown, newRSReplicas, templateHash } from './rolling-math.js'
import {
  rcSelector,
  reconcileCronJob,
  reconcileDaemonSet,
  reconcileJob,
  reconcileServiceAccounts,
} from './workloads.js'

type O = Record<string, unknown>
const REVISION = 'deployment.kubernetes.io/revision'

interface DeploySpec {
  replicas: number
  selector: LabelSelectorObject
  template: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: O }
  strategy?: { type?: string; rollingUpdate?: { maxSurge?: unknown; maxUnavailable?: unknown } }
  minReadySeconds?: number
  revisionHistoryLimit?: number
  progressDeadlineSeconds?: number
  paused?: boolean
}

interface RSStatus {
  replicas?: number
  readyReplicas?: number
  availableReplicas?: number
}

const spec = <T>(o: KObject) => o.spec as T
const rsStatus = (o: KObject) => (o.status ?? {}) as RSStatus
const now = () => Date.now()
const iso = (ms = now()) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')

/** pkg/controller/namespace: `namespaceDeletionGracePeriod`, before a Terminating namespace is emptied. */
const NAMESPACE_DELETION_GRACE_MS = 5000

/**
 * The sandbox's kube-controller-manager and scheduler in one loop: Deployment → ReplicaSets
 * (RollingUpdate/Recreate, revisions, status and conditions), ReplicaSet → Pods, scheduling
 * across Ready nodes, Endpoints from Ready pods, node lifecycle (evict pods of a node NotReady
 * longer than `nodeGraceMs`) and emptying Terminating namespaces. Level-triggered: any watch
 * event schedules a full reconcile (coalesced), plus a periodic resync for time-based conditions.
 */
export function startControllers(
  store: ObjectStore,
  opts: { nodeGraceMs?: number; resyncMs?: number; backoffBaseMs?: number } = {},
): { stop(): void } {
  const nodeGraceMs = opts.nodeGraceMs ?? 5000
  const backoffBaseMs = opts.backoffBaseMs ?? 10_000
  let scheduled = false
  let stopped = false
  const progress = new Map<string, number>() // deployment uid → last progress (ms)
  const notReadySince = new Map<string, number>()

  const kick = () => {
    if (scheduled || stopped) return
    scheduled = true
    setImmediate(() => {
      scheduled = false
      if (stopped) return
      try {
        reconcileAll()
      } catch (err) {
        process.stderr.write(`controllers: ${String(err)}\n`)
      }
    })
  }

  const watches: Watch[] = [
    RES.deployments,
    RES.replicasets,
    RES.pods,
    RES.services,
    RES.nodes,
    RES.namespaces,
    RES.replicationcontrollers,
    RES.daemonsets,
    RES.jobs,
    RES.cronjobs,
  ].map((t) => store.watch(t, { resourceVersion: store.resourceVersion() }, kick))
  const timer = setInterval(kick, opts.resyncMs ?? 500)
  kick()

  function reconcileAll(): void {
    for (const d of store.list(RES.deployments).items) safe(() => reconcileDeployment(d))
    for (const rs of store.list(RES.replicasets).items) safe(() => reconcileReplicaSet(rs))
    for (const rc of store.list(RES.replicationcontrollers).items)
      safe(() => reconcileReplicaSet(rc, RES.replicationcontrollers))
    for (const ds of store.list(RES.daemonsets).items) safe(() => reconcileDaemonSet(store, ds))
    for (const cj of store.list(RES.cronjobs).items) safe(() => reconcileCronJob(store, cj))
    for (const job of store.list(RES.jobs).items) safe(() => reconcileJob(store, job, { backoffBaseMs }))
    safe(() => reconcileServiceAccounts(store))
    safe(schedule)
    for (const svc of store.list(RES.services).items) safe(() => reconcileEndpoints(svc))
    safe(nodeLifecycle)
    for (const ns of store.list(RES.namespaces).items) {
      // kube-controller-manager waits namespaceDeletionGracePeriod (5 s) before emptying a namespace
      const since = Date.parse(ns.metadata.deletionTimestamp ?? '')
      if (now() - since >= NAMESPACE_DELETION_GRACE_MS) safe(() => store.emptyNamespace(ns.metadata.name))
    }
  }

  function safe(f: () => void): void {
    try {
      f()
    } catch (err) {
      if ((err as { code?: number }).code !== 409 && (err as { code?: number }).code !== 404) {
        process.stderr.write(`controllers: ${String((err as Error).stack ?? err)}\n`)
      }
      // conflicts and races resolve on the next reconcile
      kick()
    }
  }

  // ── Deployment ─────────────────────────────────────────────────────────────────────────
  function reconcileDeployment(d: KObject): void {
    if (isTerminating(d)) return
    const ds = spec<DeploySpec>(d)
    const ns = d.metadata.namespace ?? 'default'
    const all = store
      .list(RES.replicasets, { namespace: ns })
      .items.filter((rs) => ownedBy(rs, d.metadata.uid))
    const hash = templateHash(ds.template)
    let newRS = all.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash)
    const old = all.filter((rs) => rs !== newRS)
    const maxRevision = Math.max(0, ...all.map((rs) => Number(rs.metadata.annotations?.[REVISION] ?? 0)))
    const replicas = ds.replicas
    const { surge, unavailable } = fenceposts(
      ds.strategy?.rollingUpdate?.maxSurge,
      ds.strategy?.rollingUpdate?.maxUnavailable,
      replicas,
    )
    const recreate = ds.strategy?.type === 'Recreate'
    let changed = false

    if (!newRS) {
      const labels = { ...(ds.template.metadata?.labels ?? {}), 'pod-template-hash': hash }
      const oldSpec = old.reduce((n, rs) => n + spec<{ replicas: number }>(rs).replicas, 0)
      const initial = recreate
        ? 0
        : old.length === 0
          ? replicas
          : newRSReplicas({ replicas, surge, totalSpec: oldSpec, newSpec: 0 })
      newRS = store.create(RES.replicasets, {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${d.metadata.name}-${hash}`,
          namespace: ns,
          labels,
          annotations: {
            [REVISION]: String(maxRevision + 1),
            'deployment.kubernetes.io/desired-replicas': String(replicas),
            'deployment.kubernetes.io/max-replicas': String(replicas + surge),
          },
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name: d.metadata.name,
              uid: d.metadata.uid ?? '',
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: {
          replicas: initial,
          minReadySeconds: ds.minReadySeconds ?? 0,
          selector: {
            matchLabels: { ...(ds.selector.matchLabels ?? {}), 'pod-template-hash': hash },
            ...(ds.selector.matchExpressions ? { matchExpressions: ds.selector.matchExpressions } : {}),
          },
          template: { ...ds.template, metadata: { ...(ds.template.metadata ?? {}), labels } },
        },
      })
      recordEvent(
        store,
        d,
        'ScalingReplicaSet',
        `Scaled up replica set ${newRS.metadata.name} from 0 to ${initial}`,
        { component: 'deployment-controller' },
      )
      progress.set(d.metadata.uid ?? '', now())
      changed = true
    } else if (old.length > 0 && Number(newRS.metadata.annotations?.[REVISION] ?? 0) < maxRevision) {
      // rolled back to an older template: it becomes the newest revision
      newRS = store.update(RES.replicasets, {
        ...newRS,
        metadata: {
          ...newRS.metadata,
          annotations: { ...newRS.metadata.annotations, [REVISION]: String(maxRevision + 1) },
        },
      })
    }

    const scaleRS = (rs: KObject, to: number) => {
      const from = spec<{ replicas: number }>(rs).replicas
      if (from === to) return rs
      const u = store.update(RES.replicasets, {
        ...rs,
        metadata: {
          ...rs.metadata,
          annotations: {
            ...rs.metadata.annotations,
            'deployment.kubernetes.io/desired-replicas': String(replicas),
            'deployment.kubernetes.io/max-replicas': String(replicas + surge),
          },
        },
        spec: { ...(rs.spec as O), replicas: to, minReadySeconds: ds.minReadySeconds ?? 0 },
      })
      recordEvent(
        store,
        d,
        'ScalingReplicaSet',
        `Scaled ${to > from ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${to}`,
        { component: 'deployment-controller' },
      )
      progress.set(d.metadata.uid ?? '', now())
      changed = true
      return u
    }

    if (!changed && !ds.paused) {
      const activeOld = old.filter((rs) => spec<{ replicas: number }>(rs).replicas > 0)
      if (recreate) {
        for (const rs of activeOld) scaleRS(rs, 0)
        const oldPods = store
          .list(RES.pods, { namespace: ns })
          .items.filter((p) => old.some((rs) => ownedBy(p, rs.metadata.uid)))
        if (activeOld.length === 0 && oldPods.length === 0) newRS = scaleRS(newRS, replicas)
      } else if (activeOld.length === 0) {
        newRS = scaleRS(newRS, replicas)
      } else {
        const totalSpec = all.reduce((n, rs) => n + spec<{ replicas: number }>(rs).replicas, 0)
        const target = newRSReplicas({
          replicas,
          surge,
          totalSpec,
          newSpec: spec<{ replicas: number }>(newRS).replicas,
        })
        if (target !== spec<{ replicas: number }>(newRS).replicas) newRS = scaleRS(newRS, target)
        else {
          const newSpec = spec<{ replicas: number }>(newRS).replicas
          const newUnavailable = newSpec - (rsStatus(newRS).availableReplicas ?? 0)
          let budget = maxScaleDown({ replicas, unavailable, allSpec: totalSpec, newUnavailable })
          if (budget > 0) {
            // unhealthy old replicas first, then oldest revisions first
            const byAge = [...activeOld].sort(
              (a, b) =>
                Number(a.metadata.annotations?.[REVISION] ?? 0) -
                Number(b.metadata.annotations?.[REVISION] ?? 0),
            )
            for (const rs of byAge) {
              if (budget <= 0) break
              const s = spec<{ replicas: number }>(rs).replicas
              const unhealthy = s - (rsStatus(rs).availableReplicas ?? 0)
              const cut = Math.min(budget, unhealthy, s)
              if (cut > 0) {
                scaleRS(rs, s - cut)
                budget -= cut
              }
            }
            const fresh = store
              .list(RES.replicasets, { namespace: ns })
              .items.filter((rs) => ownedBy(rs, d.metadata.uid))
            const available = fresh.reduce((n, rs) => n + (rsStatus(rs).availableReplicas ?? 0), 0)
            let total = available - (replicas - unavailable)
            for (const rs of fresh
              .filter((x) => x.metadata.name !== newRS?.metadata.name)
              .sort(
                (a, b) =>
                  Number(a.metadata.annotations?.[REVISION] ?? 0) -
                  Number(b.metadata.annotations?.[REVISION] ?? 0),
              )) {
              if (total <= 0) break
              const s = spec<{ replicas: number }>(rs).replicas
              const cut = Math.min(s, total)
              if (cut > 0) {
                scaleRS(rs, s - cut)
                total -= cut
              }
            }
          }
        }
      }
    }

    // history cleanup
    const limit = ds.revisionHistoryLimit ?? 10
    const deadOld = old
      .filter((rs) => spec<{ replicas: number }>(rs).replicas === 0 && (rsStatus(rs).replicas ?? 0) === 0)
      .sort(
        (a, b) =>
          Number(a.metadata.annotations?.[REVISION] ?? 0) - Number(b.metadata.annotations?.[REVISION] ?? 0),
      )
    for (const rs of deadOld.slice(0, Math.max(0, deadOld.length - limit)))
      store.delete(RES.replicasets, ns, rs.metadata.name)

    updateDeploymentStatus(d, newRS, ds, unavailable)
  }

  function updateDeploymentStatus(d: KObject, newRS: KObject, ds: DeploySpec, maxUnavailable: number): void {
    const fresh = store.get(RES.deployments, d.metadata.namespace, d.metadata.name)
    if (!fresh) return
    const all = store
      .list(RES.replicasets, { namespace: d.metadata.namespace })
      .items.filter((rs) => ownedBy(rs, d.metadata.uid))
    const cur = all.find((rs) => rs.metadata.name === newRS.metadata.name) ?? newRS
    const sum = (f: (s: RSStatus) => number | undefined) =>
      all.reduce((n, rs) => n + (f(rsStatus(rs)) ?? 0), 0)
    const replicas = sum((s) => s.replicas)
    const ready = sum((s) => s.readyReplicas)
    const available = sum((s) => s.availableReplicas)
    const updated = rsStatus(cur).replicas ?? 0
    const prev = (fresh.status ?? {}) as {
      conditions?: {
        type: string
        status: string
        reason?: string
        message?: string
        lastUpdateTime?: string
        lastTransitionTime?: string
      }[]
    } & RSStatus & { updatedReplicas?: number }
    const uid = d.metadata.uid ?? ''
    if (
      prev.updatedReplicas !== updated ||
      (prev.readyReplicas ?? 0) !== ready ||
      (prev.availableReplicas ?? 0) !== available ||
      (prev.replicas ?? 0) !== replicas
    ) {
      progress.set(uid, now())
    }
    const complete =
      updated === ds.replicas &&
      replicas === ds.replicas &&
      available === ds.replicas &&
      (rsStatus(cur).availableReplicas ?? 0) === ds.replicas
    const lastProgress = progress.get(uid) ?? now()
    if (!progress.has(uid)) progress.set(uid, lastProgress)
    const deadline = (ds.progressDeadlineSeconds ?? 600) * 1000
    const cond = (type: string, status: string, reason: string, message: string, touch: boolean) => {
      const before = prev.conditions?.find((c) => c.type === type)
      const same = before?.status === status
      return {
        type,
        status,
        lastUpdateTime:
          touch || !before?.lastUpdateTime || before.reason !== reason ? iso() : before.lastUpdateTime,
        lastTransitionTime: same && before?.lastTransitionTime ? before.lastTransitionTime : iso(),
        reason,
        message,
      }
    }
    const prevProg = prev.conditions?.find((c) => c.type === 'Progressing')
    let progressing: ReturnType<typeof cond>
    if (complete)
      progressing = cond(
        'Progressing',
        'True',
        'NewReplicaSetAvailable',
        `ReplicaSet "${cur.metadata.name}" has successfully progressed.`,
        prevProg?.reason !== 'NewReplicaSetAvailable',
      )
    else if (now() - lastProgress > deadline)
      progressing = cond(
        'Progressing',
        'False',
        'ProgressDeadlineExceeded',
        `ReplicaSet "${cur.metadata.name}" has timed out progressing.`,
        prevProg?.reason !== 'ProgressDeadlineExceeded',
      )
    else
      progressing = cond(
        'Progressing',
        'True',
        'ReplicaSetUpdated',
        `ReplicaSet "${cur.metadata.name}" is progressing.`,
        lastProgress > Date.parse(prevProg?.lastUpdateTime ?? '0'),
      )
    const availableCond =
      available >= ds.replicas - maxUnavailable
        ? cond('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', false)
        : cond(
            'Available',
            'False',
            'MinimumReplicasUnavailable',
            'Deployment does not have minimum availability.',
            false,
          )
    const status = {
      observedGeneration: fresh.metadata.generation,
      replicas,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: available,
      unavailableReplicas: Math.max(0, ds.replicas - available),
      conditions: [availableCond, progressing],
    }
    const revision = cur.metadata.annotations?.[REVISION]
    if (revision && fresh.metadata.annotations?.[REVISION] !== revision) {
      // the revision annotation is metadata, not spec: it does not bump generation
      const withRev = store.update(RES.deployments, {
        ...fresh,
        metadata: { ...fresh.metadata, annotations: { ...fresh.metadata.annotations, [REVISION]: revision } },
      })
      status.observedGeneration = withRev.metadata.generation
      store.updateStatus(RES.deployments, { ...withRev, status })
      return
    }
    if (JSON.stringify(stripTimes(prev)) !== JSON.stringify(stripTimes(status)))
      store.updateStatus(RES.deployments, { ...fresh, status })
  }

  // ── ReplicaSet ─────────────────────────────────────────────────────────────────────────
  // a ReplicationController is the same loop with a map selector
  function reconcileReplicaSet(rs: KObject, type = RES.replicasets): void {
    const ns = rs.metadata.namespace ?? 'default'
    const raw = spec<{
      replicas: number
      selector: LabelSelectorObject
      template: DeploySpec['template']
      minReadySeconds?: number
    }>(rs)
    const s = type === RES.replicationcontrollers ? { ...raw, selector: rcSelector(raw.selector) } : raw
    const pods = store.list(RES.pods, { namespace: ns }).items.filter((p) => ownedBy(p, rs.metadata.uid))
    const active = pods.filter(
      (p) => !isTerminating(p) && !['Succeeded', 'Failed'].includes(String((p.status as O)?.phase)),
    )
    if (!isTerminating(rs)) {
      const diff = s.replicas - active.length
      for (let i = 0; i < diff; i++) {
        const name = `${rs.metadata.name}-${randomBytes(4).toString('hex').slice(0, 5)}`
        store.create(RES.pods, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name,
            namespace: ns,
            labels: s.template.metadata?.labels ?? {},
            annotations: s.template.metadata?.annotations,
            ownerReferences: [
              {
                apiVersion: rs.apiVersion,
                kind: rs.kind,
                name: rs.metadata.name,
                uid: rs.metadata.uid ?? '',
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: structuredClone(s.template.spec),
        })
        recordEvent(store, rs, 'SuccessfulCreate', `Created pod: ${name}`, {
          component: 'replicaset-controller',
        })
      }
      if (diff < 0) {
        const perNode = new Map<string, number>()
        for (const p of active) {
          const n = (p.spec as { nodeName?: string }).nodeName ?? ''
          perNode.set(n, (perNode.get(n) ?? 0) + 1)
        }
        for (const p of deletionOrder(active, perNode).slice(0, -diff)) {
          store.delete(RES.pods, ns, p.metadata.name)
          recordEvent(store, rs, 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`, {
            component: 'replicaset-controller',
          })
        }
      }
    }
    const fresh = store
      .list(RES.pods, { namespace: ns })
      .items.filter((p) => ownedBy(p, rs.metadata.uid) && !isTerminating(p))
    const status = {
      replicas: fresh.length,
      fullyLabeledReplicas: fresh.filter((p) => matches(p.metadata.labels, fromSelectorObject(s.selector)))
        .length,
      readyReplicas: fresh.filter(isReady).length,
      availableReplicas: fresh.filter((p) => isAvailable(p, s.minReadySeconds ?? 0, now())).length,
      observedGeneration: rs.metadata.generation,
    }
    if (JSON.stringify(rs.status ?? {}) !== JSON.stringify(status))
      store.updateStatus(type, { ...rs, status })
  }

  // ── scheduler ──────────────────────────────────────────────────────────────────────────
  function schedule(): void {
    const nodes = store
      .list(RES.nodes)
      .items.filter(
        (n) =>
          conditions(n).some((c) => c.type === 'Ready' && c.status === 'True') &&
          !(n.spec as { unschedulable?: boolean } | undefined)?.unschedulable,
      )
    const pods = store.list(RES.pods).items
    for (const p of pods) {
      const ps = p.spec as { nodeName?: string; nodeSelector?: Record<string, string> }
      if (ps.nodeName || isTerminating(p)) continue
      const fits = nodes.filter((n) =>
        Object.entries(ps.nodeSelector ?? {}).every(([k, v]) => n.metadata.labels?.[k] === v),
      )
      if (fits.length === 0) {
        const reason = `0/${store.list(RES.nodes).items.length} nodes are available: ${nodes.length === 0 ? 'no Ready node' : "node(s) didn't match Pod's node affinity/selector"}.`
        const cur = conditions(p).find((c) => c.type === 'PodScheduled')
        if (cur?.status !== 'False') {
          store.updateStatus(RES.pods, {
            ...p,
            status: {
              ...(p.status as O),
              phase: 'Pending',
              conditions: [
                {
                  type: 'PodScheduled',
                  status: 'False',
                  reason: 'Unschedulable',
                  message: reason,
                  lastTransitionTime: iso(),
                },
              ],
            },
          })
          recordEvent(store, p, 'FailedScheduling', reason, {
            type: 'Warning',
            component: 'default-scheduler',
          })
        }
        continue
      }
      const owner = p.metadata.ownerReferences?.[0]?.uid
      const load = (n: KObject) => {
        const on = pods.filter(
          (x) => (x.spec as { nodeName?: string }).nodeName === n.metadata.name && !isTerminating(x),
        )
        return [on.filter((x) => x.metadata.ownerReferences?.[0]?.uid === owner).length, on.length]
      }
      const best = [...fits].sort((a, b) => {
        const [la, ta] = load(a)
        const [lb, tb] = load(b)
        return la - lb || ta - tb || (a.metadata.name < b.metadata.name ? -1 : 1)
      })[0]
      const bound = store.update(RES.pods, { ...p, spec: { ...(p.spec as O), nodeName: best.metadata.name } })
      store.updateStatus(RES.pods, {
        ...bound,
        status: {
          ...(bound.status as O),
          conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: iso() }],
        },
      })
      ps.nodeName = best.metadata.name
      p.spec = { ...(p.spec as O), nodeName: best.metadata.name }
      recordEvent(
        store,
        bound,
        'Scheduled',
        `Successfully assigned ${bound.metadata.namespace}/${bound.metadata.name} to ${best.metadata.name}`,
        { component: 'default-scheduler' },
      )
    }
  }

  // ── endpoints ──────────────────────────────────────────────────────────────────────────
  function reconcileEndpoints(svc: KObject): void {
    const ss = svc.spec as {
      selector?: Record<string, string>
      ports?: { name?: string; port: number; targetPort?: number | string; protocol?: string }[]
    }
    if (!ss.selector || isTerminating(svc)) return
    const ns = svc.metadata.namespace ?? 'default'
    const pods = store.list(RES.pods, { namespace: ns }).items.filter((p) =>
      matches(
        p.metadata.labels,
        Object.entries(ss.selector ?? {}).map(([key, v]) => ({ key, op: 'in' as const, values: [v] })),
      ),
    )
    const subsets = new Map<string, { addresses: O[]; notReadyAddresses: O[]; ports: O[] }>()
    for (const p of pods) {
      const ip = (p.status as { podIP?: string } | undefined)?.podIP
      if (!ip || isTerminating(p)) continue
      const map = JSON.parse(p.metadata.annotations?.['sandbox.edgecanary.dev/ports'] ?? '{}') as Record<
        string,
        number
      >
      const ports = (ss.ports ?? []).map((sp) => {
        const target = String(sp.targetPort ?? sp.port)
        return {
          ...(sp.name ? { name: sp.name } : {}),
          port: map[target] ?? Number(target),
          protocol: sp.protocol ?? 'TCP',
        }
      })
      const key = JSON.stringify(ports)
      const subset = subsets.get(key) ?? { addresses: [], notReadyAddresses: [], ports }
      subsets.set(key, subset)
      const addr = {
        ip,
        nodeName: (p.spec as { nodeName?: string }).nodeName,
        targetRef: { kind: 'Pod', namespace: ns, name: p.metadata.name, uid: p.metadata.uid },
      }
      ;(isReady(p) ? subset.addresses : subset.notReadyAddresses).push(addr)
    }
    const list = [...subsets.values()]
      .map((s) => ({
        ...(s.addresses.length ? { addresses: s.addresses } : {}),
        ...(s.notReadyAddresses.length ? { notReadyAddresses: s.notReadyAddresses } : {}),
        ports: s.ports,
      }))
      .sort((a, b) => (JSON.stringify(a.ports) < JSON.stringify(b.ports) ? -1 : 1))
    const existing = store.get(RES.endpoints, ns, svc.metadata.name)
    const body: KObject = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: svc.metadata.name, namespace: ns, labels: svc.metadata.labels },
      subsets: list,
    }
    if (!existing) store.create(RES.endpoints, body)
    else if (JSON.stringify(existing.subsets ?? []) !== JSON.stringify(list))
      store.update(RES.endpoints, { ...existing, subsets: list })
  }

  // ── node lifecycle ─────────────────────────────────────────────────────────────────────
  function nodeLifecycle(): void {
    for (const n of store.list(RES.nodes).items) {
      const ready = conditions(n).find((c) => c.type === 'Ready') as
        | { status: string; lastHeartbeatTime?: string }
        | undefined
      const stale = ready?.status === 'True' && now() - Date.parse(ready.lastHeartbeatTime ?? '') > 4000
      if (stale) {
        store.updateStatus(RES.nodes, {
          ...n,
          status: {
            ...(n.status as O),
            conditions: conditions(n).map((c) =>
              c.type === 'Ready'
                ? {
                    ...c,
                    status: 'Unknown',
                    reason: 'NodeStatusUnknown',
                    message: 'Kubelet stopped posting node status.',
                    lastTransitionTime: iso(),
                  }
                : c,
            ),
          },
        })
      }
      const name = n.metadata.name
      if (ready?.status === 'True' && !stale) {
        notReadySince.delete(name)
        continue
      }
      if (!notReadySince.has(name)) notReadySince.set(name, now())
      if (now() - (notReadySince.get(name) ?? now()) < nodeGraceMs) continue
      for (const p of store.list(RES.pods, { fieldSelector: `spec.nodeName=${name}` }).items) {
        if (isTerminating(p)) continue
        // DaemonSet pods tolerate not-ready/unreachable NoExecute taints: they stay with their node
        if (p.metadata.ownerReferences?.some((r) => r.controller && r.kind === 'DaemonSet')) continue
        // the node is gone: its kubelet cannot confirm termination, so the pod is removed at once
        store.delete(RES.pods, p.metadata.namespace, p.metadata.name, { gracePeriodSeconds: 0 })
        recordEvent(store, p, 'NodeNotReady', `Evicted: node ${name} is not ready`, {
          type: 'Warning',
          component: 'node-controller',
        })
      }
    }
  }

  return {
    stop() {
      stopped = true
      clearInterval(timer)
      for (const w of watches) w.stop()
    },
  }
}

function stripTimes(s: unknown): unknown {
  return JSON.parse(
    JSON.stringify(s ?? {}, (k, v) => (k === 'lastUpdateTime' || k === 'lastTransitionTime' ? undefined : v)),
  )
}
