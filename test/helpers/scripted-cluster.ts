import { applyJsonPatch, JsonPatchApplyError, type JsonPatchOp } from '../../src/core/json-patch.js'
import type {
  Cluster,
  ConfigMap,
  Deployment,
  InformedObjects,
  InformHandlers,
  KubeEvent,
  Lease,
  LoadGenerator,
  LoadSample,
  Notifier,
  Pod,
  ReleaseEvent,
  Service,
} from '../../src/ports.js'
import type { VirtualClock } from './virtual-clock.js'

/**
 * A scripted, in-memory Cluster for the engine's in-process tests: what the engine writes is
 * applied and recorded; a small Deployment controller and kubelet, run on the virtual clock,
 * make pods from the Deployments, start them and mark them Ready the way the script says; the
 * informers get the list and then each change, as watches deliver them. The pod proxy answers
 * as the script says (default: /health 200, /version the image's tag).
 *
 * Only what cannot exist in a unit test is scripted here: the sandbox end-to-end tests run the
 * same engine against a real API server and real pods.
 */

/** How a pod behaves once created: started after `startMs`, then ready, crashing or running unready. */
export interface PodScript {
  startMs?: number
  behaviour?: 'ready' | 'crash' | 'unready'
}

export interface ClusterScript {
  pod?(pod: Pod): PodScript
  /** A pod-proxy answer; undefined: the default. */
  answer?(pod: Pod, path: string): { status: number; body: string } | undefined
  /** The HTTP status a pod answers requests through the Service with (default 200). */
  serve?(pod: Pod): number
}

/** One write the engine made: verb, resource, object name and body (a patch, or the object). */
export interface Write {
  verb: 'create' | 'update' | 'patch' | 'delete'
  resource: string
  name: string
  body: unknown
  at: number
}

type Kind = keyof InformedObjects
type Obj = { metadata: { name: string; namespace?: string; labels?: Record<string, string> } }

interface Watcher {
  kind: Kind
  label?: string
  field?: string
  handlers: InformHandlers<never>
  stopped: boolean
}

const clone = <T>(x: T): T => structuredClone(x)

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch
  const out: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {}
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
}

function matchesLabels(labels: Record<string, string> | undefined, selector: string | undefined): boolean {
  if (!selector) return true
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=')
    return labels?.[k] === v
  })
}

/** The version a pod's image carries: `registry.local/kubeapp:2.0` → `2.0`. */
export const tagOf = (image: string | undefined) => image?.split(':').pop() ?? ''

export class ScriptedCluster implements Cluster {
  readonly where = 'a scripted in-memory cluster'
  /** Every write, in order. */
  readonly writes: Write[] = []
  /** Every request, `VERB resource` (reads too), in order. */
  readonly calls: string[] = []
  /** The Events the engine recorded: reason and message. */
  readonly recorded: { reason: string; message: string; type?: string }[] = []
  private rv = 1
  private readonly deployments = new Map<string, Deployment>()
  private readonly pods = new Map<string, Pod>()
  private readonly leases = new Map<string, Lease>()
  private readonly configMaps = new Map<string, ConfigMap>()
  private readonly services = new Map<string, Service>()
  private readonly watchers: Watcher[] = []
  private podSeq = 0
  /** Called after each write (tests interrupt a release at a chosen write). */
  onWrite?: (w: Write) => void

  constructor(
    readonly ns: string,
    private readonly clock: VirtualClock,
    public script: ClusterScript = {},
  ) {}

  // ── seeding ──────────────────────────────────────────────────────────────────────────

  /** A Deployment with its pods already Running and Ready (the app as `init` left it). */
  seedDeployment(d: Deployment): void {
    const stored = this.stamp(clone(d), true)
    this.deployments.set(stored.metadata.name, stored)
    for (let i = 0; i < (d.spec.replicas ?? 1); i++) {
      const p = this.newPod(stored)
      this.startPod(p, 'ready')
      this.pods.set(p.metadata.name, p)
    }
    this.updateStatus(stored)
  }

  seedService(svc: Service): void {
    this.services.set(svc.metadata.name, this.stamp(clone(svc)))
  }

  seedLease(l: Lease): void {
    this.leases.set(l.metadata.name, this.stamp(clone(l)))
  }

  // ── views for assertions and the scripted load ─────────────────────────────────────

  deploymentNow(name: string): Deployment | undefined {
    return clone(this.deployments.get(name))
  }

  podsNow(): Pod[] {
    return [...this.pods.values()].map(clone)
  }

  configMapNow(name: string): ConfigMap | undefined {
    return clone(this.configMaps.get(name))
  }

  /** Pods in the Service: Ready (the readiness gate included). */
  servingPods(): Pod[] {
    return [...this.pods.values()].filter((p) => this.cond(p, 'Ready'))
  }

  // ── the Cluster port ───────────────────────────────────────────────────────────────

  async ping(): Promise<void> {}
  async serverVersion(): Promise<{ gitVersion: string }> {
    return { gitVersion: 'v1.32.0-scripted' }
  }
  async namespaceExists(): Promise<boolean> {
    return true
  }
  async ensureNamespace(): Promise<boolean> {
    return false
  }
  async deleteNamespace(): Promise<void> {
    throw new Error('not used by the engine')
  }

  async getDeployment(_ns: string, name: string): Promise<Deployment | undefined> {
    this.calls.push('GET deployments')
    return clone(this.deployments.get(name))
  }

  async listDeployments(labelSelector: string): Promise<Deployment[]> {
    this.calls.push('LIST deployments')
    return [...this.deployments.values()]
      .filter((d) => matchesLabels(d.metadata.labels, labelSelector))
      .map(clone)
  }

  async applyDeployment(_ns: string, d: Deployment): Promise<Deployment> {
    const name = d.metadata.name
    const cur = this.deployments.get(name)
    let next: Deployment
    if (cur) {
      next = { ...cur, metadata: { ...cur.metadata, labels: d.metadata.labels }, spec: clone(d.spec) }
      this.record('update', 'deployments', name, d)
    } else {
      next = { ...clone(d), metadata: { ...clone(d.metadata), namespace: this.ns } }
      this.record('create', 'deployments', name, d)
    }
    return clone(this.storeDeployment(next, cur))
  }

  async patchDeployment(_ns: string, name: string, patch: object): Promise<Deployment> {
    const cur = this.deployments.get(name)
    if (!cur) throw new Error(`deployments ${name} not found`)
    this.record('patch', 'deployments', name, patch)
    return clone(this.storeDeployment(mergePatch(cur, patch) as Deployment, cur))
  }

  async patchDeploymentIf(
    _ns: string,
    name: string,
    resourceVersion: string,
    patch: object,
  ): Promise<Deployment | undefined> {
    const cur = this.deployments.get(name)
    this.calls.push('PATCH deployments')
    if (!cur) throw new Error(`deployments ${name} not found`)
    if (cur.metadata.resourceVersion !== resourceVersion) return undefined
    this.record('patch', 'deployments', name, patch, false)
    return clone(this.storeDeployment(mergePatch(cur, patch) as Deployment, cur))
  }

  async patchDeploymentJson(_ns: string, name: string, ops: JsonPatchOp[]): Promise<Deployment | undefined> {
    const cur = this.deployments.get(name)
    this.calls.push('PATCH deployments')
    if (!cur) return undefined
    let next: Deployment
    try {
      next = applyJsonPatch(cur, ops) as Deployment
    } catch (err) {
      if (err instanceof JsonPatchApplyError) return undefined
      throw err
    }
    this.record('patch', 'deployments', name, ops, false)
    return clone(this.storeDeployment(next, cur))
  }

  watchDeployment(): () => void {
    throw new Error('not used by the engine')
  }

  inform<K extends Kind>(
    resource: K,
    _ns: string,
    selector: { label?: string; field?: string },
    handlers: InformHandlers<InformedObjects[K]>,
  ): () => void {
    this.calls.push(`LIST ${resource}`, `WATCH ${resource}`)
    const w: Watcher = {
      kind: resource,
      label: selector.label,
      field: selector.field,
      handlers: handlers as InformHandlers<never>,
      stopped: false,
    }
    this.watchers.push(w)
    const items = this.collection(resource).filter((o) => this.matches(w, o))
    queueMicrotask(() => {
      if (!w.stopped) w.handlers.onList(items.map(clone) as never[])
    })
    return () => {
      w.stopped = true
    }
  }

  async deleteDeployment(): Promise<void> {
    throw new Error('not used by the engine')
  }

  async listPods(_ns: string, labelSelector: string): Promise<Pod[]> {
    this.calls.push('LIST pods')
    return [...this.pods.values()].filter((p) => matchesLabels(p.metadata.labels, labelSelector)).map(clone)
  }

  async podProxyGet(
    _ns: string,
    name: string,
    _port: number | string,
    path: string,
  ): Promise<{ status: number; body: string }> {
    this.calls.push('GET pods/proxy')
    const pod = this.pods.get(name)
    if (!pod) return { status: 404, body: `pods "${name}" not found` }
    const scripted = this.script.answer?.(clone(pod), path)
    if (scripted) return scripted
    if (!pod.status?.containerStatuses?.[0]?.state?.running)
      return { status: 503, body: 'dial tcp 10.42.0.9:8080: connect: connection refused' }
    if (path === '/version') return { status: 200, body: `${tagOf(pod.spec.containers[0]?.image)}\n` }
    if (path === '/health')
      return this.cond(pod, 'ContainersReady')
        ? { status: 200, body: 'ok' }
        : { status: 503, body: 'unhealthy' }
    return { status: 404, body: 'not found' }
  }

  async setPodCondition(_ns: string, name: string, type: string, ok: boolean, reason: string): Promise<void> {
    const pod = this.pods.get(name)
    if (!pod) throw new Error(`pods ${name} not found`)
    this.record('patch', 'pods/status', name, { type, ok, reason })
    const conditions = (pod.status?.conditions ?? []).filter((c) => c.type !== type)
    conditions.push({ type, status: ok ? 'True' : 'False', reason })
    pod.status = { ...pod.status, conditions }
    this.podChanged(pod)
  }

  async getLease(_ns: string, name: string): Promise<Lease | undefined> {
    this.calls.push('GET leases')
    return clone(this.leases.get(name))
  }

  async createLease(_ns: string, lease: Lease): Promise<Lease | undefined> {
    this.calls.push('POST leases')
    if (this.leases.has(lease.metadata.name)) return undefined
    this.record('create', 'leases', lease.metadata.name, lease, false)
    return clone(this.storeLease(lease, 'ADDED'))
  }

  async replaceLease(_ns: string, lease: Lease): Promise<Lease | undefined> {
    this.calls.push('PUT leases')
    const cur = this.leases.get(lease.metadata.name)
    if (!cur || cur.metadata.resourceVersion !== lease.metadata.resourceVersion) return undefined
    this.record('update', 'leases', lease.metadata.name, lease, false)
    return clone(this.storeLease(lease, 'MODIFIED'))
  }

  async deleteLease(_ns: string, name: string): Promise<void> {
    this.record('delete', 'leases', name, undefined)
    this.leases.delete(name)
  }

  async getConfigMap(_ns: string, name: string): Promise<ConfigMap | undefined> {
    this.calls.push('GET configmaps')
    return clone(this.configMaps.get(name))
  }

  async applyConfigMap(_ns: string, cm: ConfigMap): Promise<void> {
    this.record('create', 'configmaps', cm.metadata.name, cm)
    this.configMaps.set(cm.metadata.name, this.stamp(clone(cm)))
  }

  async replaceConfigMap(_ns: string, cm: ConfigMap): Promise<ConfigMap | undefined> {
    this.calls.push('PUT configmaps')
    const cur = this.configMaps.get(cm.metadata.name)
    if (!cur || cur.metadata.resourceVersion !== cm.metadata.resourceVersion) return undefined
    this.record('update', 'configmaps', cm.metadata.name, cm, false)
    const next = this.stamp(clone(cm))
    this.configMaps.set(cm.metadata.name, next)
    return clone(next)
  }

  async deleteConfigMap(): Promise<void> {
    throw new Error('not used by the engine')
  }

  async getService(_ns: string, name: string): Promise<Service | undefined> {
    this.calls.push('GET services')
    return clone(this.services.get(name))
  }

  async applyService(): Promise<Service> {
    throw new Error('not used by the engine')
  }

  async deleteService(): Promise<void> {
    throw new Error('not used by the engine')
  }

  async recordEvent(
    _ns: string,
    on: Deployment,
    reason: string,
    message: string,
    type?: 'Normal' | 'Warning',
  ): Promise<void> {
    this.record('create', 'events', on.metadata.name, { reason, message, type })
    this.recorded.push({ reason, message, type })
  }

  async nodeArchitectures(): Promise<string[]> {
    return ['arm64']
  }
  async nodes(): Promise<{ name: string; ready: boolean; arch?: string }[]> {
    return [
      { name: 'pi-1', ready: true, arch: 'arm64' },
      { name: 'pi-2', ready: true, arch: 'arm64' },
    ]
  }
  async nodeFacts(): Promise<never[]> {
    return []
  }
  async autoscaledDeployments(): Promise<{ hpa: string; deployment: string }[]> {
    return []
  }

  // ── the store, the controller and the kubelet ─────────────────────────────────────

  private record(verb: Write['verb'], resource: string, name: string, body: unknown, count = true): void {
    const httpVerb = { create: 'POST', update: 'PUT', patch: 'PATCH', delete: 'DELETE' }[verb]
    if (count) this.calls.push(`${httpVerb} ${resource}`)
    const w = { verb, resource, name, body: clone(body), at: this.clock.now() }
    this.writes.push(w)
    this.onWrite?.(w)
  }

  private stamp<T extends Obj & { metadata: { resourceVersion?: string; uid?: string } }>(
    o: T,
    fresh = false,
  ): T {
    o.metadata.resourceVersion = String(++this.rv)
    o.metadata.namespace = this.ns
    if (fresh || !o.metadata.uid) o.metadata.uid ??= `uid-${o.metadata.name}-${this.rv}`
    return o
  }

  private collection(kind: Kind): Obj[] {
    if (kind === 'pods') return [...this.pods.values()]
    if (kind === 'deployments') return [...this.deployments.values()]
    if (kind === 'leases') return [...this.leases.values()]
    return []
  }

  private matches(w: Watcher, o: Obj): boolean {
    if (!matchesLabels(o.metadata.labels, w.label)) return false
    if (w.kind === 'leases' && w.field) return w.field === `metadata.name=${o.metadata.name}`
    return true
  }

  private emit(kind: Kind, type: 'ADDED' | 'MODIFIED' | 'DELETED', o: Obj): void {
    for (const w of this.watchers) {
      if (w.stopped || w.kind !== kind || !this.matches(w, o)) continue
      const copy = clone(o)
      queueMicrotask(() => {
        if (!w.stopped) w.handlers.onEvent(type, copy as never)
      })
    }
  }

  private storeLease(lease: Lease, type: 'ADDED' | 'MODIFIED'): Lease {
    const next = this.stamp(clone(lease))
    this.leases.set(next.metadata.name, next)
    this.emit('leases', type, next)
    return next
  }

  private storeDeployment(next: Deployment, cur: Deployment | undefined): Deployment {
    const stored = this.stamp(next, !cur)
    const specChanged = !cur || JSON.stringify(cur.spec) !== JSON.stringify(stored.spec)
    stored.metadata.generation = (cur?.metadata.generation ?? 0) + (specChanged ? 1 : 0)
    this.deployments.set(stored.metadata.name, stored)
    this.emit('deployments', cur ? 'MODIFIED' : 'ADDED', stored)
    // the Deployment controller acts a moment later
    if (specChanged) this.clock.setTimeout(() => this.reconcile(stored.metadata.name), 5)
    return stored
  }

  private cond(p: Pod, type: string): boolean {
    return p.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false
  }

  private templateHash(d: Deployment): string {
    const text = JSON.stringify(d.spec.template)
    let h = 0
    for (const ch of text) h = (h * 31 + ch.charCodeAt(0)) >>> 0
    return h.toString(36).slice(0, 6)
  }

  private podsOf(d: Deployment): Pod[] {
    return [...this.pods.values()].filter((p) => matchesLabels(p.metadata.labels, selectorText(d)))
  }

  private newPod(d: Deployment): Pod {
    const hash = this.templateHash(d)
    const n = ++this.podSeq
    const tpl = d.spec.template
    return {
      metadata: {
        name: `${d.metadata.name}-${hash}-${n}`,
        namespace: this.ns,
        uid: `pod-uid-${n}`,
        resourceVersion: String(++this.rv),
        creationTimestamp: new Date(this.clock.now()).toISOString(),
        labels: { ...tpl.metadata?.labels, 'pod-template-hash': hash },
      },
      spec: {
        nodeName: `pi-${(n % 2) + 1}`,
        containers: clone(tpl.spec.containers),
        ...(tpl.spec.readinessGates ? { readinessGates: clone(tpl.spec.readinessGates) } : {}),
      } as Pod['spec'],
      status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] },
    }
  }

  /** The kubelet's part: the container started as the script says. */
  private startPod(p: Pod, behaviour: NonNullable<PodScript['behaviour']>): void {
    const at = new Date(this.clock.now()).toISOString()
    const image = p.spec.containers[0]?.image
    const gates = (p.spec as { readinessGates?: { conditionType: string }[] }).readinessGates ?? []
    const kept = (p.status?.conditions ?? []).filter((c) => gates.some((g) => g.conditionType === c.type))
    const ready = behaviour === 'ready'
    p.status = {
      phase: 'Running',
      podIP: '10.42.0.9',
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'ContainersReady', status: ready ? 'True' : 'False' },
        ...kept,
      ],
      containerStatuses: [
        behaviour === 'crash'
          ? {
              name: 'app',
              ready: false,
              restartCount: 2,
              image,
              state: {
                waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container' },
              },
              lastState: { terminated: { reason: 'Error', exitCode: 1, finishedAt: at } },
            }
          : { name: 'app', ready, restartCount: 0, image, state: { running: { startedAt: at } } },
      ],
    }
    this.setReady(p)
  }

  /** Ready: containers ready and every readiness gate's condition True. */
  private setReady(p: Pod): void {
    const gates = (p.spec as { readinessGates?: { conditionType: string }[] }).readinessGates ?? []
    const ok = this.cond(p, 'ContainersReady') && gates.every((g) => this.cond(p, g.conditionType))
    const conditions = (p.status?.conditions ?? []).filter((c) => c.type !== 'Ready')
    conditions.push({ type: 'Ready', status: ok ? 'True' : 'False' })
    p.status = { ...p.status, conditions }
  }

  private podChanged(p: Pod): void {
    this.setReady(p)
    p.metadata.resourceVersion = String(++this.rv)
    this.emit('pods', 'MODIFIED', p)
    for (const d of this.deployments.values()) {
      if (matchesLabels(p.metadata.labels, selectorText(d)))
        this.clock.setTimeout(() => this.reconcile(d.metadata.name), 5)
    }
  }

  /** The Deployment controller: pods of the current template up to replicas, old ones gone once those are Ready (maxSurge 100%, maxUnavailable 0). */
  private reconcile(name: string): void {
    const d = this.deployments.get(name)
    if (!d) return
    const hash = this.templateHash(d)
    const pods = this.podsOf(d)
    const current = pods.filter((p) => p.metadata.labels?.['pod-template-hash'] === hash)
    const old = pods.filter((p) => p.metadata.labels?.['pod-template-hash'] !== hash)
    const want = d.spec.replicas ?? 1
    for (let i = current.length; i < want; i++) {
      const p = this.newPod(d)
      this.pods.set(p.metadata.name, p)
      this.emit('pods', 'ADDED', p)
      const s = this.script.pod?.(clone(p)) ?? {}
      this.clock.setTimeout(() => {
        if (!this.pods.has(p.metadata.name)) return
        this.startPod(p, s.behaviour ?? 'ready')
        this.podChanged(p)
      }, s.startMs ?? 300)
    }
    for (const p of current.slice(want)) this.deletePod(p)
    const readyCurrent = current.slice(0, want).filter((p) => this.cond(p, 'Ready')).length
    if (old.length > 0 && readyCurrent >= want) for (const p of old) this.deletePod(p)
    this.updateStatus(d)
  }

  private deletePod(p: Pod): void {
    this.pods.delete(p.metadata.name)
    this.emit('pods', 'DELETED', p)
  }

  private updateStatus(d: Deployment): void {
    const hash = this.templateHash(d)
    const pods = this.podsOf(d)
    const updated = pods.filter((p) => p.metadata.labels?.['pod-template-hash'] === hash)
    const status: NonNullable<Deployment['status']> = {
      observedGeneration: d.metadata.generation,
      replicas: pods.length,
      updatedReplicas: updated.length,
      readyReplicas: pods.filter((p) => this.cond(p, 'Ready')).length,
      availableReplicas: updated.filter((p) => this.cond(p, 'Ready')).length,
      conditions: [{ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }],
    }
    if (JSON.stringify(status) === JSON.stringify(d.status)) return
    d.status = status
    this.stamp(d)
    this.emit('deployments', 'MODIFIED', d)
  }
}

function selectorText(d: Deployment): string {
  return Object.entries(d.spec.selector.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',')
}

/** The analysis's load in virtual time: `rate` requests a second, each answered by the next pod in the Service. */
export class ScriptedLoad implements LoadGenerator {
  /** Every request sent. */
  readonly sent: LoadSample[] = []

  constructor(
    private readonly cluster: ScriptedCluster,
    private readonly clock: VirtualClock,
  ) {}

  start(o: { rate: number; onResult(r: LoadSample): void }): { stop(): Promise<void> } {
    let i = 0
    const cancel = this.clock.setInterval(() => {
      const serving = this.cluster.servingPods()
      if (serving.length === 0) return
      const pod = serving[i++ % serving.length]
      const r: LoadSample = {
        version: tagOf(pod.spec.containers[0]?.image),
        status: this.cluster.script.serve?.(pod) ?? 200,
        latencyMs: 5,
        at: this.clock.now(),
      }
      this.sent.push(r)
      o.onResult(r)
    }, 1000 / Math.max(0.1, o.rate))
    return {
      stop: async () => cancel(),
    }
  }
}

/** Collects the release's notifications instead of posting them. */
export class RecordingNotifier implements Notifier {
  readonly events: ReleaseEvent[] = []
  async notify(_urls: string[], e: ReleaseEvent): Promise<void> {
    this.events.push(e)
  }
}

export type { KubeEvent }
