import type { JsonPatchOp } from './core/json-patch.js'
import type { NodeFacts } from './core/platforms.js'

/**
 * The interfaces the services use for side effects, in their words rather than a library's.
 * Adapters in src/adapters (client-node, ssh2, dockerode) and plain-Node implementations
 * (registry client over fetch, Go toolchain runner) implement them; tests run the same
 * services against real servers through the same implementations.
 *
 * Sections are owned by the part that uses them: build/registry, release (cluster), bootstrap
 * (remote shell), and progress (shared).
 */

// ── progress (shared) ────────────────────────────────────────────────────────────────────

/** Long work reports steps through this; commands render it with listr2 (TTY) or plain lines. */
export interface Progress {
  /** A step starts; returns a function that ends it (ok or failed with a short reason). */
  step(title: string): StepHandle
  /** A one-line note under the current step. */
  note(line: string): void
  /**
   * A keyed line that is updated in place, one per parallel worker (a host of a bootstrap):
   * `lane('pi@10.0.0.11', 'installing k3s agent')`. Optional: plain lines print each change.
   */
  lane?(key: string, text: string): void
}

export interface StepHandle {
  update(detail: string): void
  done(summary?: string): void
  fail(reason: string): void
}

/** Discards everything; for services called without a UI (tests, --json). */
export const silentProgress: Progress = {
  step: () => ({ update() {}, done() {}, fail() {} }),
  note() {},
}

// ── build & registry (src/build, src/registry) ───────────────────────────────────────────
// Owned by the build/registry work; see src/registry and src/build for the implementations.

// ── cluster (src/release, src/verify, src/init, src/adapters/kube-*.ts) ──────────────────

export interface ObjectMeta {
  name: string
  namespace?: string
  uid?: string
  resourceVersion?: string
  generation?: number
  creationTimestamp?: string
  deletionTimestamp?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

export interface Container {
  name: string
  image: string
  env?: { name: string; value?: string }[]
  ports?: { containerPort: number; name?: string }[]
  readinessProbe?: { periodSeconds?: number; httpGet?: { path?: string; port?: number | string } }
  [field: string]: unknown
}

export interface Deployment {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta
  spec: {
    replicas?: number
    selector: { matchLabels?: Record<string, string> }
    strategy?: {
      type?: string
      rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string }
    }
    template: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }
      spec: {
        containers: Container[]
        readinessGates?: { conditionType: string }[]
        [field: string]: unknown
      }
    }
    [field: string]: unknown
  }
  status?: {
    observedGeneration?: number
    replicas?: number
    updatedReplicas?: number
    readyReplicas?: number
    availableReplicas?: number
    conditions?: { type: string; status: string; reason?: string; message?: string }[]
  }
}

export interface ContainerStatusView {
  name: string
  ready: boolean
  restartCount: number
  image?: string
  state?: {
    waiting?: { reason?: string; message?: string }
    running?: object
    terminated?: { reason?: string; message?: string; exitCode?: number; finishedAt?: string }
  }
  lastState?: { terminated?: { reason?: string; message?: string; exitCode?: number; finishedAt?: string } }
}

export interface Pod {
  metadata: ObjectMeta
  spec: { nodeName?: string; containers: Container[] }
  status?: {
    phase?: string
    podIP?: string
    conditions?: { type: string; status: string; reason?: string; message?: string }[]
    containerStatuses?: ContainerStatusView[]
  }
}

export interface Lease {
  metadata: ObjectMeta
  spec: {
    holderIdentity?: string
    leaseDurationSeconds?: number
    acquireTime?: string
    renewTime?: string
    leaseTransitions?: number
  }
}

export interface ConfigMap {
  metadata: ObjectMeta
  data?: Record<string, string>
}

export interface Service {
  metadata: ObjectMeta
  spec: {
    type?: string
    selector?: Record<string, string>
    ports?: { name?: string; port: number; targetPort?: number | string; nodePort?: number }[]
  }
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string; ports?: { port: number }[] }[] } }
}

/** A core/v1 Event as the engine reads it (the kubelet's `Unhealthy` probe failures). */
export interface KubeEvent {
  metadata: ObjectMeta
  involvedObject: { kind?: string; name?: string; uid?: string }
  reason?: string
  message?: string
  type?: string
  count?: number
  firstTimestamp?: string
  lastTimestamp?: string
  eventTime?: string
}

/** The objects `Cluster.inform` can follow, by resource. */
export interface InformedObjects {
  pods: Pod
  deployments: Deployment
  leases: Lease
  events: KubeEvent
}

/** What an informer tells its user: the whole set after each (re)list, then each change. */
export interface InformHandlers<T> {
  onList(items: T[]): void
  onEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T): void
}

/** What the release engine, init and verify need from a Kubernetes cluster, in their words. */
export interface NodeSummary {
  name: string
  ready: boolean
  arch?: string
}

export interface Cluster {
  /** A short description of where this talks to: `context edgecanary-sandbox (https://127.0.0.1:6443)`. */
  readonly where: string
  /** The `namespace:` of the kubeconfig context in use, when it names one (kubectl's default namespace). */
  readonly contextNamespace?: string
  /**
   * Fails with an UnreachableError (exit 2) when the API does not answer. By default a
   * connection error is retried for about 5 s; with `timeoutMs` (a fleet's preflight, where a
   * cluster that is down is only named) two attempts 200 ms apart, each bounded by it.
   */
  ping(o?: { timeoutMs?: number }): Promise<void>
  /** The API server's `GET /version` (kubectl version's server part), one attempt, no retries. */
  serverVersion(): Promise<{ gitVersion: string; platform?: string }>
  namespaceExists(ns: string): Promise<boolean>
  ensureNamespace(ns: string, labels?: Record<string, string>): Promise<boolean>
  deleteNamespace(ns: string): Promise<void>
  getDeployment(ns: string, name: string): Promise<Deployment | undefined>
  listDeployments(labelSelector: string, ns?: string): Promise<Deployment[]>
  /** Creates, or replaces the spec/labels of an existing one (keeping its resourceVersion). */
  applyDeployment(ns: string, d: Deployment): Promise<Deployment>
  /** JSON merge patch. */
  patchDeployment(ns: string, name: string, patch: object): Promise<Deployment>
  /**
   * JSON merge patch on the condition that the Deployment still has `resourceVersion` (optimistic
   * concurrency, as `metadata.resourceVersion` in a patch asks of the API server); resolves
   * undefined on 409 Conflict.
   */
  patchDeploymentIf(
    ns: string,
    name: string,
    resourceVersion: string,
    patch: object,
  ): Promise<Deployment | undefined>
  /**
   * RFC 6902 JSON patch; resolves undefined when the API server says it does not apply (422: a
   * failed `test`, a missing path), so a `test` op makes the whole write conditional on a value
   * in one request, whatever else changed on the object meanwhile.
   */
  patchDeploymentJson(ns: string, name: string, ops: JsonPatchOp[]): Promise<Deployment | undefined>
  /**
   * Watches one Deployment (`?watch=1`, from its current state) and calls `onChange` with each
   * version of it; returns the function that ends the watch. A watch that breaks ends quietly:
   * callers keep a slower read of their own beside it.
   */
  watchDeployment(ns: string, name: string, onChange: (d: Deployment) => void): () => void
  /**
   * Follows objects of a namespace by list-then-watch, as client-go's informers do: the list
   * first (`onList`), then each change (`onEvent`); a watch that ends resumes from the last
   * resourceVersion, a 410 Gone relists, a broken connection is re-established with backoff.
   * Returns the function that stops it.
   */
  inform<K extends keyof InformedObjects>(
    resource: K,
    ns: string,
    selector: { label?: string; field?: string },
    handlers: InformHandlers<InformedObjects[K]>,
  ): () => void
  deleteDeployment(ns: string, name: string): Promise<void>
  listPods(ns: string, labelSelector: string): Promise<Pod[]>
  /** GET through the API server's pod proxy: `/api/v1/namespaces/{ns}/pods/{pod}:{port}/proxy{path}`. */
  podProxyGet(
    ns: string,
    pod: string,
    port: number | string,
    path: string,
  ): Promise<{ status: number; body: string }>
  /** Sets a pod condition through the `status` subresource (readiness gates). */
  setPodCondition(ns: string, pod: string, type: string, ok: boolean, reason: string): Promise<void>
  getLease(ns: string, name: string): Promise<Lease | undefined>
  /** Create; resolves undefined on 409 AlreadyExists. */
  createLease(ns: string, lease: Lease): Promise<Lease | undefined>
  /** Replace with optimistic concurrency; resolves undefined on 409 Conflict. */
  replaceLease(ns: string, lease: Lease): Promise<Lease | undefined>
  deleteLease(ns: string, name: string): Promise<void>
  getConfigMap(ns: string, name: string): Promise<ConfigMap | undefined>
  applyConfigMap(ns: string, cm: ConfigMap): Promise<void>
  /** Replace with optimistic concurrency (`metadata.resourceVersion`); resolves undefined on 409 Conflict. */
  replaceConfigMap(ns: string, cm: ConfigMap): Promise<ConfigMap | undefined>
  deleteConfigMap(ns: string, name: string): Promise<void>
  getService(ns: string, name: string): Promise<Service | undefined>
  applyService(ns: string, svc: Service): Promise<Service>
  deleteService(ns: string, name: string): Promise<void>
  recordEvent(
    ns: string,
    on: Deployment,
    reason: string,
    message: string,
    type?: 'Normal' | 'Warning',
  ): Promise<void>
  nodeArchitectures(): Promise<string[]>
  /** Every Node with its Ready condition and `kubernetes.io/arch` label. */
  nodes(): Promise<NodeSummary[]>
  /** Every Node's architecture, ARM variant label and schedulability (which platforms to build). */
  nodeFacts(): Promise<NodeFacts[]>
  /** Names of the Deployments that HorizontalPodAutoscalers in `ns` scale (empty when the API has none). */
  autoscaledDeployments(ns: string): Promise<{ hpa: string; deployment: string }[]>
}

// ── release I/O besides the cluster (src/release; adapters: src/adapters/system-clock.ts,
// src/verify/traffic.ts httpLoad, src/release/notify.ts webhookNotifier) ─────────────────

/**
 * Time as the release engine reads it: the system clock in production, a scripted one in the
 * engine's in-process tests (test/unit/release-engine.test.ts), so waits, deadlines and
 * renewals run in virtual time there.
 */
export interface Clock {
  /** Milliseconds since the epoch, as Date.now(). */
  now(): number
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  /** Calls `fn` once after `ms` (it does not keep the process alive); returns the cancel function. */
  setTimeout(fn: () => void, ms: number): () => void
  /** Calls `fn` every `ms` (it does not keep the process alive); returns the cancel function. */
  setInterval(fn: () => void, ms: number): () => void
}

/** One request of the built-in load through the app's Service: which version answered, how. */
export interface LoadSample {
  version?: string
  status?: number
  error?: string
  latencyMs: number
  /** When it was sent (ms since the epoch). */
  at: number
}

/** The analysis's built-in load: `rate` requests a second to `url` until stop(). */
export interface LoadGenerator {
  start(o: { url: string; rate: number; timeoutMs: number; onResult(r: LoadSample): void }): {
    stop(): Promise<void>
  }
}

/** A phase change of a release, as webhooks receive it. */
export interface ReleaseEvent {
  app: string
  namespace: string
  version: string
  previousVersion?: string
  phase: string
  step?: number
  weight?: number
  stable?: number
  canary?: number
  reason?: string
  at: string
}

/** Sends a release's phase changes to its webhooks; a failing webhook never fails the release. */
export interface Notifier {
  notify(urls: string[], e: ReleaseEvent): Promise<void>
}

// ── remote shell (src/bootstrap, src/adapters/ssh-*.ts) ──────────────────────────────────

export interface RunResult {
  stdout: string
  stderr: string
  code: number
}

/** A shell on a remote host (a Pi), over SSH with verified host keys. */
export interface RemoteShell {
  readonly host: string
  /**
   * Runs a command; with `sudo`, through `sudo -S` (the password, if any, goes on stdin, never argv).
   * With `signal`: when it fires, the command's processes on the host are ended (its whole
   * process group) and the call rejects with the signal's reason.
   */
  run(
    cmd: string,
    opts?: { sudo?: boolean; timeoutMs?: number; stdin?: string | Buffer; signal?: AbortSignal },
  ): Promise<RunResult>
  /** Writes a file with a mode (through sudo when asked); stopped by `signal` as `run`. */
  upload(
    content: Buffer,
    remotePath: string,
    mode: number,
    opts?: { sudo?: boolean; signal?: AbortSignal },
  ): Promise<void>
  /** This machine's address as the host sees it (the laptop's LAN address), when known. */
  readonly localAddress?: string
  close(): void
}
