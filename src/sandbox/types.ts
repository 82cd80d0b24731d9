/**
 * Contracts between the parts of the embedded sandbox cluster. One process holds them all:
 *
 *   apiserver (HTTPS REST)  ─┐
 *   controllers (in process) ├─> ObjectStore (resourceVersion, watch, persistence)
 *   kubelets (one per node) ─┘
 *   service proxy            ─> reads Services/Endpoints from the store
 *
 * Controllers and kubelets use the store directly (no HTTP hop), but through the same
 * semantics as the API: optimistic concurrency on `metadata.resourceVersion`, watch events,
 * `generation` bumped by the resource strategy on spec changes, status updates through
 * `updateStatus` which never bumps generation.
 */

import type { PodExec } from './pod-exec.js'

export interface OwnerReference {
  apiVersion: string
  kind: string
  name: string
  uid: string
  controller?: boolean
  blockOwnerDeletion?: boolean
}

export interface ObjectMeta {
  name: string
  namespace?: string
  generateName?: string
  uid?: string
  resourceVersion?: string
  generation?: number
  creationTimestamp?: string
  deletionTimestamp?: string
  deletionGracePeriodSeconds?: number
  labels?: Record<string, string>
  annotations?: Record<string, string>
  ownerReferences?: OwnerReference[]
  finalizers?: string[]
  managedFields?: unknown[]
}

/** Any Kubernetes object as JSON. Resource-specific code narrows it with its own types. */
export interface KObject {
  apiVersion: string
  kind: string
  metadata: ObjectMeta
  [field: string]: unknown
}

/** Identifies a resource type: `{ group: 'apps', version: 'v1', resource: 'deployments' }`; core group is ''. */
export interface ResourceType {
  group: string
  version: string
  resource: string
  kind: string
  namespaced: boolean
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'

export interface WatchEvent {
  type: WatchEventType
  object: KObject
}

export interface ListOptions {
  namespace?: string
  /** Kubernetes label selector syntax: `app=kubeapp,track!=canary,env in (a,b),!x`. */
  labelSelector?: string
  /** At least `metadata.name=x`, `metadata.namespace=x`, `spec.nodeName=x`, `status.phase=x`. */
  fieldSelector?: string
}

export interface ListResult {
  items: KObject[]
  resourceVersion: string
}

export interface WatchOptions extends ListOptions {
  /** Deliver events after this resourceVersion; '' or undefined = only new events. Too old → ApiStatusError 410 Expired. */
  resourceVersion?: string
}

export interface Watch {
  stop(): void
}

/**
 * The object store. Errors are thrown as `ApiStatusError` (see src/sandbox/api-errors.ts) so
 * the HTTP layer can return them unchanged as `Status` objects.
 *
 * Semantics (matching kube-apiserver):
 * - `create`: fills uid, creationTimestamp, resourceVersion, generation=1 (for resources with
 *   spec), name from generateName; 409 AlreadyExists.
 * - `update`: if `metadata.resourceVersion` is set and stale → 409 Conflict; bumps
 *   resourceVersion; the resource strategy bumps generation on spec/annotation changes and
 *   keeps status unchanged (status is written only by `updateStatus`).
 * - `delete`: objects with `finalizers` or a pod grace period get `deletionTimestamp` and stay
 *   (MODIFIED); otherwise removed (DELETED). Pods are removed by the kubelet via `delete` with
 *   `gracePeriodSeconds: 0` once their processes are gone.
 * - every write emits exactly one watch event, in resourceVersion order.
 */
export interface ObjectStore {
  get(type: ResourceType, namespace: string | undefined, name: string): KObject | undefined
  list(type: ResourceType, opts?: ListOptions): ListResult
  create(type: ResourceType, obj: KObject, opts?: { dryRun?: boolean }): KObject
  update(type: ResourceType, obj: KObject, opts?: { dryRun?: boolean }): KObject
  updateStatus(type: ResourceType, obj: KObject): KObject
  delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    opts?: {
      gracePeriodSeconds?: number
      preconditionUid?: string
      dryRun?: boolean
      propagationPolicy?: string
    },
  ): KObject
  watch(type: ResourceType, opts: WatchOptions, onEvent: (ev: WatchEvent) => void): Watch
  /** Current global resourceVersion. */
  resourceVersion(): string
  /** Namespace controller: deletes the content of a Terminating namespace, then the namespace once empty. */
  emptyNamespace(namespace: string): void
  /** Resolves once every write so far is on the disk (a store that persists nothing resolves at once). */
  durable?(): Promise<void>
}

/** What the apiserver needs from the kubelets for pod subresources. */
export interface PodRuntime {
  /** Container output, like `kubectl logs`. `follow` streams until the container ends or `signal` aborts. */
  logs(
    namespace: string,
    pod: string,
    opts: {
      container?: string
      tailLines?: number
      timestamps?: boolean
      follow?: boolean
      previous?: boolean
      signal?: AbortSignal
    },
  ): AsyncIterable<string>
  /**
   * Where `/api/v1/namespaces/{ns}/pods/{name}[:port]/proxy/{path}` should go: the loopback
   * host and port the pod's containerPort is mapped to, or undefined if the pod isn't running.
   */
  proxyTarget(namespace: string, pod: string, port?: string): { host: string; port: number } | undefined
  /** `kubectl exec`: a process in the container's namespaces (src/sandbox/pod-exec.ts). */
  exec?: PodExec
}

/** Faults the tests (and `edgecanary sandbox fault`) inject through the admin endpoint. */
export interface FaultControl {
  stopNode(name: string): Promise<void>
  startNode(name: string): Promise<void>
  /** The next `count` API requests (or all for `seconds`) answer `status` (500 or 429). */
  failApi(opts: { status: 500 | 429; count?: number; seconds?: number }): void
  /** Image pulls take this much longer. */
  slowPulls(ms: number): void
  registryDown(down: boolean): void
  /** Restarts the API server process part with persisted state: watches break, clients re-list. */
  restartApi?(): Promise<void>
}
