import { randomUUID } from 'node:crypto'
import {
  closeSync,
  existsSync,
  fdatasync as fdatasyncCb,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs'
import { promisify } from 'node:util'
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  invalid,
  namespaceTerminating,
  notFound,
  requestTooLarge,
} from './api-errors.js'
import { defaultPropagation } from './apiserver/delete-answer.js'
import { allocateClusterIP } from './cluster-ip.js'
import { matches, parseSelector, type Requirement, SelectorSyntaxError } from './label-selector.js'
import { ALL_RESOURCES, RES } from './resources.js'
import { applyDefaults, bumpsGeneration, hasStatus, prepareForCreate, validate } from './strategies.js'
import type {
  KObject,
  ListOptions,
  ListResult,
  ObjectStore,
  ResourceType,
  Watch,
  WatchEvent,
  WatchOptions,
} from './types.js'

const fdatasync = promisify(fdatasyncCb)

const HISTORY = 10_000

/** etcd's default request limit (--max-request-bytes): a larger object is never stored. */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024

/** One acknowledged write, as a line of the journal beside the snapshot. */
interface JournalEntry {
  rv: number
  /** `group/resource` */
  t: string
  /** present: the object as stored; absent: the object `key` was deleted */
  o?: KObject
  key: string
}

interface Watcher {
  key: string
  ns?: string
  labels: Requirement[]
  fields: [string, string][]
  cb: (ev: WatchEvent) => void
  /** The resourceVersion its list or history replay reached when it was registered: older events are in it. */
  seen: number
}

function typeKey(t: ResourceType): string {
  return `${t.group}/${t.resource}`
}

function objKey(ns: string | undefined, name: string): string {
  return `${ns ?? ''}/${name}`
}

function clone<T>(v: T): T {
  return structuredClone(v)
}

/** RFC 3339 to the second, as Kubernetes writes creationTimestamp. */
export function timestamp(ms: number = Date.now()): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z')
}

/**
 * Reads a field path used by field selectors: `metadata.name`, `spec.nodeName`, `status.phase`,
 * `involvedObject.name`.
 *
 *   fieldValue({ spec: { nodeName: 'pi-1' } }, 'spec.nodeName') → 'pi-1'
 */
export function fieldValue(o: unknown, path: string): string {
  let cur: unknown = o
  for (const p of path.split('.'))
    cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined
  return cur === undefined || cur === null ? '' : String(cur)
}

/** Field labels each kind's field selectors may name, besides metadata.name and metadata.namespace. */
const FIELD_LABELS: Record<string, string[]> = {
  pods: [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'spec.hostNetwork',
    'status.phase',
    'status.podIP',
    'status.nominatedNodeName',
  ],
  events: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  nodes: ['spec.unschedulable'],
  namespaces: ['status.phase'],
  secrets: ['type'],
  replicasets: ['status.replicas'],
}

/**
 * Field selector text as apimachinery's fields.ParseSelector reads it (`a=b`, `a==b`, `a!=b`,
 * comma means AND), with the field labels the kind supports; anything else is a 400.
 *
 *   parseFields('metadata.name=x', 'pods') → [['metadata.name', 'x']]
 *   parseFields('spec.foo=x', 'pods') → throws 400 "field label not supported: spec.foo"
 */
export function parseFields(text: string | undefined, resource = ''): [string, string][] {
  if (!text) return []
  return text
    .split(',')
    .filter(Boolean)
    .map((p) => {
      const m = /^([^!=]*)(!=|==|=)(.*)$/.exec(p)
      if (!m || /[!=]/.test(m[3])) throw badRequest(`invalid selector: '${text}'; can't understand '${p}'`)
      const key = m[1].trim()
      const known = ['metadata.name', 'metadata.namespace', ...(FIELD_LABELS[resource] ?? [])]
      if (!known.includes(key)) throw badRequest(`field label not supported: ${key}`)
      return [m[2] === '!=' ? `!${key}` : key, m[3]] as [string, string]
    })
}

/** Checks list or watch selectors before any answer starts: text that does not parse is a 400. */
export function checkSelectors(
  t: ResourceType,
  opts: { labelSelector?: string; fieldSelector?: string },
): void {
  parseLabels(opts.labelSelector)
  parseFields(opts.fieldSelector, t.resource)
}

/** parseSelector, with text that does not parse answered as kube-apiserver does: 400 BadRequest. */
function parseLabels(text: string | undefined): Requirement[] {
  try {
    return parseSelector(text)
  } catch (err) {
    if (err instanceof SelectorSyntaxError) throw badRequest(err.message)
    throw err
  }
}

function fieldsMatch(o: KObject, fields: [string, string][]): boolean {
  return fields.every(([k, v]) =>
    k.startsWith('!') ? fieldValue(o, k.slice(1)) !== v : fieldValue(o, k) === v,
  )
}

/**
 * The sandbox's object store with kube-apiserver semantics: one global resourceVersion,
 * optimistic concurrency, generation on spec changes, graceful pod deletion, owner-reference
 * cascade, watch from a resourceVersion (410 when too old), JSON snapshot persistence.
 */
export class MemoryStore implements ObjectStore {
  private rv = 0
  private readonly data = new Map<string, Map<string, KObject>>()
  private readonly history: { rv: number; key: string; ev: WatchEvent }[] = []
  private readonly watchers = new Set<Watcher>()
  /** Events committed while others are being delivered: they go out after, in resourceVersion order. */
  private readonly outbox: { rv: number; key: string; ev: WatchEvent }[] = []
  private delivering = false

  /** The snapshot file this store saves to and its journal's descriptor, when it persists. */
  private file?: string
  private journalFd?: number
  /** The resourceVersion the last snapshot holds. */
  private savedRv = 0
  /** Whether durable() syncs the journal to the disk (a write is in the page cache, safe from a process crash, at once). */
  private syncWrites = true
  /** Journal writes so far, the count the disk holds, and who waits for which. */
  private written = 0
  private synced = 0
  private syncing = false
  private readonly syncWaiters: { upTo: number; resolve: () => void; reject: (err: unknown) => void }[] = []

  /**
   * Opens the store persisted at `file`: the last snapshot, then every write acknowledged after
   * it, replayed from the journal (`<file>.journal`, one JSON line per write, appended before the
   * write is applied, and synced before the API answers: see durable()). A torn last line — a crash in the middle of a write that was
   * therefore never acknowledged — ends the replay.
   */
  static load(file: string, opts: { syncWrites?: boolean } = {}): MemoryStore {
    const s = new MemoryStore()
    s.file = file
    s.syncWrites = opts.syncWrites ?? true
    if (existsSync(file)) {
      const doc = JSON.parse(readFileSync(file, 'utf8')) as { rv: number; objects: Record<string, KObject[]> }
      s.rv = doc.rv
      for (const [key, items] of Object.entries(doc.objects)) {
        const m = new Map<string, KObject>()
        for (const o of items) m.set(objKey(o.metadata.namespace, o.metadata.name), o)
        s.data.set(key, m)
      }
    }
    s.savedRv = s.rv
    const journal = `${file}.journal`
    if (existsSync(journal)) {
      for (const line of readFileSync(journal, 'utf8').split('\n')) {
        if (!line) continue
        let e: JournalEntry
        try {
          e = JSON.parse(line) as JournalEntry
        } catch {
          break
        }
        if (e.rv <= s.rv) continue
        let m = s.data.get(e.t)
        if (!m) {
          m = new Map()
          s.data.set(e.t, m)
        }
        if (e.o) m.set(e.key, e.o)
        else m.delete(e.key)
        s.rv = e.rv
      }
    }
    s.journalFd = openSync(journal, 'a', 0o600)
    return s
  }

  /**
   * Writes a snapshot atomically (a temporary file, synced, renamed over the old one), then
   * empties the journal it now contains. Throws when it cannot write; the journal still holds
   * every acknowledged write, so a later save (or the next start) loses nothing.
   */
  save(file: string | undefined = this.file): void {
    if (!file) return
    const objects: Record<string, KObject[]> = {}
    for (const [key, m] of this.data) objects[key] = [...m.values()]
    const tmp = `${file}.tmp`
    const fd = openSync(tmp, 'w', 0o600)
    try {
      writeSync(fd, JSON.stringify({ rv: this.rv, objects }))
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, file)
    this.savedRv = this.rv
    if (file === this.file && this.journalFd !== undefined) ftruncateSync(this.journalFd, 0)
  }

  /** Saves a snapshot only when something was written since the last one. */
  saveIfChanged(): boolean {
    if (this.rv === this.savedRv) return false
    this.save()
    return true
  }

  /** Saves and lets go of the journal. */
  close(): void {
    this.save()
    if (this.journalFd !== undefined) closeSync(this.journalFd)
    this.journalFd = undefined
  }

  /** Appends one write to the journal before it is applied (it survives a crash of this process from then on). */
  private journal(line: string): void {
    if (this.journalFd === undefined) return
    writeSync(this.journalFd, line)
    this.written++
  }

  /**
   * Resolves once every write made so far is on the disk: the API server awaits it before it
   * acknowledges a write. One fdatasync (off the event loop) covers every write made before it
   * started, so writes that arrive together share it (group commit), and requests go on being
   * served while it runs.
   */
  durable(): Promise<void> {
    if (!this.syncWrites || this.journalFd === undefined || this.synced >= this.written)
      return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      this.syncWaiters.push({ upTo: this.written, resolve, reject })
      if (!this.syncing) void this.syncLoop()
    })
  }

  private async syncLoop(): Promise<void> {
    this.syncing = true
    try {
      while (this.synced < this.written && this.journalFd !== undefined) {
        const upTo = this.written
        try {
          await fdatasync(this.journalFd)
        } catch (err) {
          for (const w of this.syncWaiters.splice(0)) w.reject(err)
          return
        }
        this.synced = upTo
        for (let i = this.syncWaiters.length - 1; i >= 0; i--) {
          if (this.syncWaiters[i].upTo <= upTo) this.syncWaiters.splice(i, 1)[0].resolve()
        }
      }
    } finally {
      this.syncing = false
    }
  }

  resourceVersion(): string {
    return String(this.rv)
  }

  private table(t: ResourceType): Map<string, KObject> {
    const key = typeKey(t)
    let m = this.data.get(key)
    if (!m) {
      m = new Map()
      this.data.set(key, m)
    }
    return m
  }

  get(t: ResourceType, ns: string | undefined, name: string): KObject | undefined {
    const o = this.table(t).get(objKey(t.namespaced ? ns : undefined, name))
    return o ? clone(o) : undefined
  }

  list(t: ResourceType, opts: ListOptions = {}): ListResult {
    const labels = parseLabels(opts.labelSelector)
    const fields = parseFields(opts.fieldSelector, t.resource)
    const items = [...this.table(t).values()]
      .filter((o) => !opts.namespace || !t.namespaced || o.metadata.namespace === opts.namespace)
      .filter((o) => matches(o.metadata.labels, labels) && fieldsMatch(o, fields))
      .sort((a, b) =>
        objKey(a.metadata.namespace, a.metadata.name) < objKey(b.metadata.namespace, b.metadata.name)
          ? -1
          : 1,
      )
      .map(clone)
    return { items, resourceVersion: String(this.rv) }
  }

  create(t: ResourceType, input: KObject, opts: { dryRun?: boolean } = {}): KObject {
    const o = applyDefaults(t, clone(input))
    o.apiVersion = t.group ? `${t.group}/${t.version}` : t.version
    o.kind = t.kind
    o.metadata = { ...o.metadata }
    if (!o.metadata.name && o.metadata.generateName) {
      o.metadata.name = `${o.metadata.generateName}${Math.random().toString(36).slice(2, 7)}`
    }
    if (!t.namespaced) delete o.metadata.namespace
    else if (!o.metadata.namespace) o.metadata.namespace = 'default'
    validate(t, o)
    const ns = o.metadata.namespace
    if (t.namespaced && ns) {
      const namespace = this.table(RES.namespaces).get(objKey(undefined, ns))
      if (!namespace) throw notFound(RES.namespaces, ns)
      if (namespace.metadata.deletionTimestamp) throw namespaceTerminating(t, o.metadata.name, ns)
    }
    const k = objKey(ns, o.metadata.name)
    if (this.table(t).has(k)) throw alreadyExists(t, o.metadata.name)
    if (t.resource === 'services') this.assignClusterIP(o)
    o.metadata.uid = randomUUID()
    prepareForCreate(t, o)
    o.metadata.creationTimestamp = timestamp()
    delete o.metadata.deletionTimestamp
    if (o.spec !== undefined) o.metadata.generation = 1
    if (t.resource === 'pods') o.status = { phase: 'Pending', ...(o.status as object) }
    if (t.resource === 'namespaces') o.status = { phase: 'Active' }
    if (opts.dryRun) return o
    return this.commit(t, 'ADDED', o)
  }

  /** spec.clusterIP, clusterIPs and ipFamilies of a new Service, from the service CIDR (as k3s). */
  private assignClusterIP(o: KObject): void {
    const spec = (o.spec ?? {}) as Record<string, unknown>
    if (spec.type === 'ExternalName') return
    const used = new Set(
      [...this.table(RES.services).values()].map((x) =>
        String((x.spec as { clusterIP?: string })?.clusterIP),
      ),
    )
    const asked =
      (spec.clusterIP as string | undefined) || (spec.clusterIPs as string[] | undefined)?.[0] || undefined
    const r = allocateClusterIP(used, asked)
    if ('causes' in r) throw invalid(RES.services, o.metadata.name, r.causes)
    o.spec = {
      ...spec,
      clusterIP: r.ip,
      clusterIPs: [r.ip],
      ipFamilies: spec.ipFamilies ?? ['IPv4'],
      ipFamilyPolicy: spec.ipFamilyPolicy ?? 'SingleStack',
      internalTrafficPolicy: spec.internalTrafficPolicy ?? 'Cluster',
    }
  }

  /** An update keeps the Service's ClusterIP when it leaves it out, and may not change it (422). */
  private keepClusterIP(o: KObject, old: KObject): void {
    const spec = (o.spec ?? {}) as Record<string, unknown>
    const was = (old.spec ?? {}) as Record<string, unknown>
    if (!was.clusterIP || spec.type === 'ExternalName') return
    const asked = (spec.clusterIP as string | undefined) || (spec.clusterIPs as string[] | undefined)?.[0]
    if (asked && asked !== was.clusterIP)
      throw invalid(RES.services, o.metadata.name, [
        {
          reason: 'FieldValueInvalid',
          field: 'spec.clusterIPs[0]',
          message: `Invalid value: []string{${JSON.stringify(asked)}}: may not change once set`,
        },
      ])
    o.spec = {
      ...spec,
      clusterIP: was.clusterIP,
      clusterIPs: was.clusterIPs,
      ipFamilies: spec.ipFamilies ?? was.ipFamilies,
      ipFamilyPolicy: spec.ipFamilyPolicy ?? was.ipFamilyPolicy,
      internalTrafficPolicy: spec.internalTrafficPolicy ?? was.internalTrafficPolicy,
    }
  }

  update(t: ResourceType, input: KObject, opts: { dryRun?: boolean } = {}): KObject {
    const o = applyDefaults(t, clone(input))
    const ns = t.namespaced ? (o.metadata.namespace ?? 'default') : undefined
    const old = this.table(t).get(objKey(ns, o.metadata.name))
    if (!old) throw notFound(t, o.metadata.name)
    if (o.metadata.resourceVersion && o.metadata.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(t, o.metadata.name)
    }
    validate(t, o, old)
    if (t.resource === 'services') this.keepClusterIP(o, old)
    o.apiVersion = old.apiVersion
    o.kind = old.kind
    o.metadata = {
      ...o.metadata,
      namespace: old.metadata.namespace,
      uid: old.metadata.uid,
      creationTimestamp: old.metadata.creationTimestamp,
      deletionTimestamp: old.metadata.deletionTimestamp,
      deletionGracePeriodSeconds: old.metadata.deletionGracePeriodSeconds,
      generation: old.metadata.generation,
    }
    if (!t.namespaced) delete o.metadata.namespace
    if (hasStatus(t)) o.status = old.status
    if (old.metadata.generation !== undefined && bumpsGeneration(t, old, o)) {
      o.metadata.generation = (old.metadata.generation ?? 0) + 1
    }
    if (
      JSON.stringify(o) ===
      JSON.stringify({ ...old, metadata: { ...old.metadata, resourceVersion: o.metadata.resourceVersion } })
    ) {
      return clone(old) // no-op updates do not bump resourceVersion, as in Kubernetes
    }
    if (opts.dryRun) return o
    if (o.metadata.deletionTimestamp && (o.metadata.finalizers ?? []).length === 0 && t.resource !== 'pods') {
      return this.remove(t, old)
    }
    return this.commit(t, 'MODIFIED', o)
  }

  updateStatus(t: ResourceType, input: KObject): KObject {
    const ns = t.namespaced ? (input.metadata.namespace ?? 'default') : undefined
    const old = this.table(t).get(objKey(ns, input.metadata.name))
    if (!old) throw notFound(t, input.metadata.name)
    if (input.metadata.resourceVersion && input.metadata.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(t, input.metadata.name)
    }
    const o = clone(old)
    o.status = clone(input.status)
    if (JSON.stringify(o.status) === JSON.stringify(old.status)) return clone(old)
    return this.commit(t, 'MODIFIED', o)
  }

  delete(
    t: ResourceType,
    nsIn: string | undefined,
    name: string,
    opts: {
      gracePeriodSeconds?: number
      preconditionUid?: string
      dryRun?: boolean
      propagationPolicy?: string
    } = {},
  ): KObject {
    const ns = t.namespaced ? nsIn : undefined
    const old = this.table(t).get(objKey(ns, name))
    if (!old) throw notFound(t, name)
    if (opts.preconditionUid && opts.preconditionUid !== old.metadata.uid) throw conflict(t, name)
    if (opts.dryRun) return clone(old)
    if (t.resource === 'namespaces') return this.deleteNamespace(old)
    const podSpec = old.spec as { nodeName?: string; terminationGracePeriodSeconds?: number } | undefined
    const grace = opts.gracePeriodSeconds ?? podSpec?.terminationGracePeriodSeconds ?? 30
    const graceful = t.resource === 'pods' && podSpec?.nodeName && grace > 0
    if (graceful || (old.metadata.finalizers ?? []).length > 0) {
      if (
        old.metadata.deletionTimestamp &&
        (!graceful || (old.metadata.deletionGracePeriodSeconds ?? 0) <= grace)
      ) {
        return clone(old)
      }
      const o = clone(old)
      o.metadata.deletionTimestamp = timestamp()
      if (graceful) o.metadata.deletionGracePeriodSeconds = grace
      return this.commit(t, 'MODIFIED', o)
    }
    const gone = this.remove(t, old)
    if ((opts.propagationPolicy ?? defaultPropagation(t)) === 'Orphan') this.orphan(old)
    else this.cascade(old)
    return gone
  }

  /** The garbage collector's `orphan` finalizer: dependents lose their reference to the owner. */
  private orphan(owner: KObject): void {
    const uid = owner.metadata.uid
    for (const type of ALL_RESOURCES) {
      for (const o of [...this.table(type).values()]) {
        const refs = o.metadata.ownerReferences
        if (!refs?.some((r) => r.uid === uid)) continue
        const next = clone(o)
        const kept = refs.filter((r) => r.uid !== uid)
        if (kept.length > 0) next.metadata.ownerReferences = kept
        else delete next.metadata.ownerReferences
        this.commit(type, 'MODIFIED', next)
      }
    }
  }

  /**
   * As kube-apiserver does: the first delete turns the namespace `Terminating` (deletionTimestamp,
   * status.phase) and new content is refused; the namespace controller deletes what it holds
   * (`emptyNamespace`), and the namespace itself goes once nothing is left in it, so a
   * `kubectl delete -f` that names the namespace first still deletes the objects after it.
   */
  private deleteNamespace(old: KObject): KObject {
    if (!old.metadata.deletionTimestamp) {
      const o = clone(old)
      o.metadata.deletionTimestamp = timestamp()
      o.status = { ...(o.status as object | undefined), phase: 'Terminating' }
      return this.commit(RES.namespaces, 'MODIFIED', o)
    }
    const name = old.metadata.name
    const left = ALL_RESOURCES.some(
      (type) => type.namespaced && [...this.table(type).values()].some((o) => o.metadata.namespace === name),
    )
    return left ? clone(old) : this.remove(RES.namespaces, old)
  }

  /** Deletes dependents (by ownerReferences uid), as the garbage collector does. */
  private cascade(owner: KObject): void {
    const uid = owner.metadata.uid
    for (const type of ALL_RESOURCES) {
      for (const o of [...this.table(type).values()]) {
        if (o.metadata.ownerReferences?.some((r) => r.uid === uid)) {
          try {
            // the garbage collector deletes dependents in the background (a Job's pods go with it)
            this.delete(type, o.metadata.namespace, o.metadata.name, { propagationPolicy: 'Background' })
          } catch {}
        }
      }
    }
  }

  /** The namespace controller's work for a Terminating namespace: delete its content, then it. */
  emptyNamespace(ns: string): void {
    for (const type of ALL_RESOURCES) {
      if (!type.namespaced) continue
      for (const o of [...this.table(type).values()]) {
        if (o.metadata.namespace === ns) {
          try {
            // as the namespace controller: in the background
            this.delete(type, ns, o.metadata.name, { propagationPolicy: 'Background' })
          } catch {}
        }
      }
    }
    const namespace = this.table(RES.namespaces).get(objKey(undefined, ns))
    if (namespace?.metadata.deletionTimestamp) this.deleteNamespace(namespace)
  }

  private remove(t: ResourceType, old: KObject): KObject {
    const key = objKey(old.metadata.namespace, old.metadata.name)
    const o = clone(old)
    const rv = this.rv + 1
    o.metadata.resourceVersion = String(rv)
    this.journal(`${JSON.stringify({ rv, t: typeKey(t), key })}\n`)
    this.rv = rv
    this.table(t).delete(key)
    this.emit(t, 'DELETED', o)
    return clone(o)
  }

  /**
   * Stores a write: refused past etcd's size limit, journaled, then applied and sent to watchers;
   * nothing changes when any step before applying fails.
   */
  private commit(t: ResourceType, type: 'ADDED' | 'MODIFIED', o: KObject): KObject {
    const rv = this.rv + 1
    o.metadata.resourceVersion = String(rv)
    const encoded = JSON.stringify(o)
    if (Buffer.byteLength(encoded) > MAX_OBJECT_BYTES) throw requestTooLarge()
    const key = objKey(o.metadata.namespace, o.metadata.name)
    this.journal(
      `{"rv":${rv},"t":${JSON.stringify(typeKey(t))},"key":${JSON.stringify(key)},"o":${encoded}}\n`,
    )
    this.rv = rv
    this.table(t).set(key, o)
    this.emit(t, type, o)
    return clone(o)
  }

  /**
   * Watchers get every event in resourceVersion order, as kube-apiserver's watch cache sends
   * them. A watcher that writes while it handles an event (the kubelet recomputing Ready after
   * a readiness-gate patch) commits a newer event: that one waits in the outbox until the older
   * one has reached every watcher, instead of overtaking it on the watchers registered later.
   */
  private emit(t: ResourceType, type: WatchEvent['type'], o: KObject): void {
    const entry = { rv: this.rv, key: typeKey(t), ev: { type, object: o } as WatchEvent }
    this.history.push(entry)
    if (this.history.length > HISTORY) this.history.splice(0, this.history.length - HISTORY)
    this.outbox.push(entry)
    if (!this.delivering) this.drain()
  }

  /** Sends the outbox, oldest first; a watcher that throws does not keep the event from the others. */
  private drain(): void {
    this.delivering = true
    let failed: unknown
    try {
      for (let next = this.outbox.shift(); next; next = this.outbox.shift())
        for (const w of [...this.watchers]) {
          if (next.rv <= w.seen) continue
          try {
            this.deliver(w, next.key, next.ev)
          } catch (err) {
            failed ??= err
          }
        }
    } finally {
      this.delivering = false
    }
    if (failed !== undefined) throw failed
  }

  private deliver(w: Watcher, key: string, ev: WatchEvent): void {
    if (w.key !== key) return
    const o = ev.object
    if (w.ns && o.metadata.namespace !== w.ns) return
    if (!matches(o.metadata.labels, w.labels) || !fieldsMatch(o, w.fields)) return
    w.cb({ type: ev.type, object: clone(o) })
  }

  watch(t: ResourceType, opts: WatchOptions, onEvent: (ev: WatchEvent) => void): Watch {
    const start = this.rv
    const w: Watcher = {
      key: typeKey(t),
      ns: t.namespaced ? opts.namespace : undefined,
      labels: parseLabels(opts.labelSelector),
      fields: parseFields(opts.fieldSelector, t.resource),
      cb: onEvent,
      seen: start,
    }
    const from = opts.resourceVersion
    // writes made while the replay runs (by this watcher's own callback) follow it, in order
    const outer = this.delivering
    this.delivering = true
    try {
      if (!from || from === '0') {
        for (const o of this.list(t, opts).items) onEvent({ type: 'ADDED', object: o })
      } else {
        const rv = Number(from)
        const oldest = this.history.length > 0 ? this.history[0].rv - 1 : this.rv
        if (!Number.isFinite(rv)) throw badRequest(`invalid resourceVersion ${from}`)
        if (rv < oldest) throw expired(rv, oldest)
        for (const h of this.history) if (h.rv > rv && h.rv <= start) this.deliver(w, h.key, h.ev)
      }
    } finally {
      if (!outer) this.delivering = false
    }
    this.watchers.add(w)
    if (!outer && this.outbox.length > 0) this.drain()
    return { stop: () => this.watchers.delete(w) }
  }
}

/**
 * Saves the store's snapshot every `intervalMs` when something changed. A save that fails (disk
 * full, a directory gone read-only) never throws out of the timer: it is said once per reason
 * and tried again on the next tick, while the journal keeps every acknowledged write.
 * Returns the function that stops it.
 */
export function persistPeriodically(
  store: Pick<MemoryStore, 'saveIfChanged'>,
  intervalMs: number,
  log: (line: string) => void,
): () => void {
  let lastError = ''
  const timer = setInterval(() => {
    try {
      store.saveIfChanged()
      if (lastError) log('sandbox: the store is saved again')
      lastError = ''
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err)
      if (reason !== lastError)
        log(`sandbox: saving the store failed (${reason}); the journal keeps every write, trying again`)
      lastError = reason
    }
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}
