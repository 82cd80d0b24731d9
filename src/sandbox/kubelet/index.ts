import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { RegistriesConfig } from '../../core/registry-mirrors.js'
import { RES } from '../resources.js'
import { timestamp as iso } from '../store.js'
import type { KObject, ObjectStore, PodRuntime, Watch } from '../types.js'
import { nodeSystemInfo, readHostFacts } from './node-info.js'
import { nextTick, PodWorker, RELIST_PERIOD_MS } from './pod-worker.js'
import { buildPodnet } from './podnet-helper.js'

export interface KubeletOptions {
  store: ObjectStore
  nodeName: string
  arch: string
  workDir: string
  imageCacheDir: string
  /** Registries (host:port) pulled over plain HTTP besides loopback ones, as k3s's registries.yaml `http://` endpoints. */
  insecureRegistries?: string[]
  backoffBaseMs?: number
  /** k3s registries.yaml mirrors and configs (see src/core/registry-mirrors.ts). */
  registries?: RegistriesConfig
  /** host:port of the sandbox registry: serves mirrors listed without endpoints. */
  embeddedRegistry?: string
}

export interface Kubelet extends PodRuntime {
  readonly nodeName: string
  /** Node goes down: processes are killed (graceful: SIGTERM and their grace), heartbeats stop. */
  stop(opts?: { graceful: boolean }): Promise<void>
  /** Node comes back: heartbeats resume and pods bound here are started again. */
  start(): void
  slowPulls(ms: number): void
  worker(ns: string, pod: string): PodWorker | undefined
}

/** One virtual node: registers the Node, heartbeats, and runs the pods bound to it as real processes. */
export function startKubelet(opts: KubeletOptions): Kubelet {
  const { store, nodeName } = opts
  const workers = new Map<string, PodWorker>() // by uid
  const terminating = new Set<string>()
  let pullDelay = 0
  let watch: Watch | undefined
  let heartbeat: NodeJS.Timeout | undefined
  let resync: NodeJS.Timeout | undefined
  let up = false
  let podnet: Promise<string> | undefined
  // the generic PLEG relists the runtime's containers every second from kubelet start
  const relistFrom = Date.now()

  const ctx = {
    store,
    nodeName,
    arch: opts.arch,
    workDir: opts.workDir,
    imageCacheDir: opts.imageCacheDir,
    insecureRegistries: opts.insecureRegistries ?? [],
    backoffBaseMs: opts.backoffBaseMs ?? 10_000,
    pullDelayMs: () => pullDelay,
    nextRelist: (after: number) => nextTick(relistFrom, RELIST_PERIOD_MS, after),
    images: new Map(),
    registries: opts.registries,
    embeddedRegistry: opts.embeddedRegistry,
    podnet: () => {
      podnet ??= buildPodnet(join(opts.imageCacheDir, 'helpers'))
      // a failed build is tried again by the next pod
      podnet.catch(() => {
        podnet = undefined
      })
      return podnet
    },
  }

  // read once, as the kubelet does at start; the architecture is the node's configured one
  const nodeInfo = nodeSystemInfo(nodeName, opts.arch, readHostFacts())

  function register(): void {
    const labels = {
      'kubernetes.io/arch': opts.arch,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/hostname': nodeName,
      'beta.kubernetes.io/arch': opts.arch,
      'beta.kubernetes.io/os': 'linux',
      ...(nodeName.endsWith('-1') ? { 'node-role.kubernetes.io/control-plane': 'true' } : {}),
    }
    const existing = store.get(RES.nodes, undefined, nodeName)
    if (!existing) {
      store.create(RES.nodes, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: nodeName, labels },
        spec: {},
      })
    } else if (JSON.stringify(existing.metadata.labels) !== JSON.stringify(labels)) {
      store.update(RES.nodes, { ...existing, metadata: { ...existing.metadata, labels } })
    }
    beat()
  }

  function beat(): void {
    const node = store.get(RES.nodes, undefined, nodeName)
    if (!node) return
    const now = iso()
    const before = (
      (node.status as { conditions?: { type: string; status: string; lastTransitionTime?: string }[] })
        ?.conditions ?? []
    ).find((c) => c.type === 'Ready')
    const cond = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      lastHeartbeatTime: now,
      lastTransitionTime:
        type === 'Ready' && before?.status !== status ? now : (before?.lastTransitionTime ?? now),
      reason,
      message,
    })
    const capacity = { cpu: '4', memory: '8Gi', pods: '110', 'ephemeral-storage': '30Gi' }
    store.updateStatus(RES.nodes, {
      ...node,
      status: {
        capacity,
        allocatable: capacity,
        conditions: [
          cond(
            'MemoryPressure',
            'False',
            'KubeletHasSufficientMemory',
            'kubelet has sufficient memory available',
          ),
          cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
          cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
          cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
        ],
        addresses: [
          { type: 'InternalIP', address: '127.0.0.1' },
          { type: 'Hostname', address: nodeName },
        ],
        nodeInfo,
      },
    })
  }

  function sync(pod: KObject | undefined, deleted = false): void {
    if (!up || !pod) return
    const uid = pod.metadata.uid ?? ''
    const w = workers.get(uid)
    if (deleted) {
      if (w) void w.terminate(0, true).then(() => workers.delete(uid))
      return
    }
    if (pod.metadata.deletionTimestamp) {
      if (terminating.has(uid)) return
      terminating.add(uid)
      const grace = pod.metadata.deletionGracePeriodSeconds ?? 30
      const finish = () => {
        workers.delete(uid)
        terminating.delete(uid)
        try {
          const cur = store.get(RES.pods, pod.metadata.namespace, pod.metadata.name)
          if (cur?.metadata.uid === uid)
            store.delete(RES.pods, pod.metadata.namespace, pod.metadata.name, { gracePeriodSeconds: 0 })
        } catch {}
      }
      if (w) void w.terminate(grace).then(finish, finish)
      else finish()
      return
    }
    if (!w) {
      const worker = new PodWorker(ctx, pod)
      workers.set(uid, worker)
      worker.start().catch((err) => process.stderr.write(`kubelet ${nodeName}: ${String(err)}\n`))
    } else {
      // a readiness gate or another condition changed: recompute Ready as the kubelet does
      w.writeStatus()
    }
  }

  function startNode(): void {
    if (up) return
    up = true
    register()
    heartbeat = setInterval(() => {
      try {
        beat()
      } catch {}
    }, 1000)
    watch = store.watch(RES.pods, { fieldSelector: `spec.nodeName=${nodeName}` }, (ev) =>
      sync(ev.object, ev.type === 'DELETED'),
    )
    resync = setInterval(() => {
      for (const p of store.list(RES.pods, { fieldSelector: `spec.nodeName=${nodeName}` }).items) sync(p)
    }, 1000)
  }

  startNode()

  const self: Kubelet = {
    nodeName,
    start: startNode,
    async stop(o = { graceful: true }) {
      if (!up) return
      up = false
      watch?.stop()
      clearInterval(heartbeat)
      clearInterval(resync)
      const all = [...workers.values()]
      workers.clear()
      terminating.clear()
      await Promise.all(all.map((w) => w.terminate(o.graceful ? 5 : 0, !o.graceful)))
    },
    slowPulls(ms) {
      pullDelay = ms
    },
    worker(ns, pod) {
      return [...workers.values()].find((w) => w.ns === ns && w.name === pod)
    },
    async *logs(ns, pod, o) {
      const w = self.worker(ns, pod)
      const file = w?.logFileOf(o.container)
      if (!file) return
      const path = o.previous ? `${file}.previous` : file
      const text = existsSync(path) ? readFileSync(path, 'utf8') : ''
      let lines = text.split('\n')
      if (lines[lines.length - 1] === '') lines.pop()
      if (o.tailLines !== undefined) lines = lines.slice(-o.tailLines)
      const stamp = (l: string) => (o.timestamps ? `${new Date().toISOString()} ${l}` : l)
      for (const l of lines) yield `${stamp(l)}\n`
      if (!o.follow) return
      let offset = existsSync(path) ? statSync(path).size : 0
      for (let i = 0; i < 36_000 && !o.signal?.aborted && self.worker(ns, pod); i++) {
        await new Promise((r) => setTimeout(r, 100))
        const size = existsSync(path) ? statSync(path).size : 0
        if (size > offset) {
          const chunk = readFileSync(path).subarray(offset, size).toString('utf8')
          offset = size
          yield chunk
        }
      }
    },
    proxyTarget(ns, pod, port) {
      const w = self.worker(ns, pod)
      if (!w?.isRunning()) return undefined
      // the pod's own network namespace: any port it listens on, declared or not, through the
      // host port only the kubelet holds
      const p = w.hostPortOf(port)
      return p ? { host: w.podIP, port: p } : undefined
    },
  }
  return self
}

/** Pod subresources (log, proxy) answered by whichever kubelet runs the pod. */
export function createPodRuntime(kubelets: Kubelet[]): PodRuntime {
  const find = (ns: string, pod: string) => kubelets.find((k) => k.worker(ns, pod))
  return {
    async *logs(ns, pod, o) {
      const k = find(ns, pod)
      if (k) yield* k.logs(ns, pod, o)
    },
    proxyTarget: (ns, pod, port) => find(ns, pod)?.proxyTarget(ns, pod, port),
    exec: (r) =>
      find(r.namespace, r.pod)?.worker(r.namespace, r.pod)?.exec(r) ?? {
        error: `pod ${r.pod} is not running on any node`,
      },
  }
}
