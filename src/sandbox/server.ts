import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { RegistriesConfig } from '../core/registry-mirrors.js'
import { startRegistry } from '../registry/server.js'
import { ApiStatusError } from './api-errors.js'
import { type JoinControl, startApiServer } from './apiserver/index.js'
import { startControllers } from './controllers/index.js'
import { k3sKubeconfig, sandboxKubeconfig } from './kubeconfig-fragment.js'
import { createPodRuntime, type Kubelet, startKubelet } from './kubelet/index.js'
import {
  type JoinedNode,
  joinDecision,
  type NodeSpec,
  readJoinedNodes,
  writeJoinedNodes,
} from './node-join.js'
import type { SandboxPaths, SandboxState } from './paths.js'
import { RES } from './resources.js'
import { startServiceProxy } from './service-proxy.js'
import { MemoryStore, persistPeriodically } from './store.js'
import type { FaultControl, KObject, ObjectStore } from './types.js'

export interface SandboxOptions {
  paths: SandboxPaths
  nodes: number
  arch: string
  /** The architecture of each built-in node (a mixed cluster); default: `arch` for pi-1 … pi-N. */
  nodeArchs?: { name: string; arch: string }[]
  /** Crash-loop and image-pull back-off base; Kubernetes uses 10 s. */
  backoffBaseMs?: number
  /** How long a NotReady node keeps its pods before they are evicted. */
  nodeGraceMs?: number
  /** Address for the API server and the service proxy (default 127.0.0.1); pods stay on loopback. */
  address?: string
  /** API server port; default: the one saved in state.json, else a free one. */
  apiPort?: number
  /** Extra IP/DNS names in the API server certificate (the address is always there). */
  tlsSans?: string[]
  /** Token that lets nodes join (`POST /admin/join`); without it joining is off. */
  joinToken?: string
  /** Also write a k3s-style kubeconfig (client certificate, server 127.0.0.1) here, mode 0600. */
  writeKubeconfig?: string
  /** Registry mirrors as k3s reads them from registries.yaml; mirrors without endpoints use the embedded registry. */
  registries?: RegistriesConfig
}

export interface RunningSandbox {
  state: SandboxState
  store: ObjectStore
  faults: FaultControl
  /** Stops pods (SIGTERM, then SIGKILL after their grace period), saves state, closes ports. */
  stop(): Promise<void>
}

interface SavedPorts {
  apiPort?: number
  registryPort?: number
}

/**
 * Starts the whole sandbox in this process: registry, object store, controllers, one kubelet
 * per node (`pi-1`…`pi-N`, then every node that joined earlier), the service proxy and the
 * HTTPS API server. Ports are chosen once and kept in `state.json`, so `down`/`up` keeps
 * kubeconfigs and Service URLs valid.
 */
export async function runSandbox(opts: SandboxOptions): Promise<RunningSandbox> {
  const { paths } = opts
  for (const d of [paths.dir, paths.pki, paths.registry, paths.images, paths.nodes])
    mkdirSync(d, { recursive: true })
  const saved = readSaved(paths.stateFile)

  const store = MemoryStore.load(paths.storeFile)
  const registry = await startRegistry({
    dir: paths.registry,
    host: '127.0.0.1',
    port: saved.registryPort ?? 0,
  })
  const registryHost = `127.0.0.1:${registry.port}`
  seedClusterObjects(store, registryHost)

  const address = opts.address ?? '127.0.0.1'
  const nodes: NodeSpec[] =
    opts.nodeArchs?.map((n) => ({ ...n })) ??
    Array.from({ length: opts.nodes }, (_, i) => ({
      name: `pi-${i + 1}`,
      arch: opts.arch,
    }))
  const joined: JoinedNode[] = []
  for (const n of readJoinedNodes(paths.joinedNodes)) {
    const d = joinDecision(nodes, n)
    if (d === 'conflict')
      process.stderr.write(`joined node ${n.name} (${n.arch}) clashes with a built-in node; left out\n`)
    if (d !== 'start') continue
    nodes.push({ name: n.name, arch: n.arch })
    joined.push(n)
  }
  // the kubelets array grows when nodes join; the pod runtime and the faults read it live
  const kubelets: Kubelet[] = []
  const addKubelet = (n: NodeSpec) =>
    kubelets.push(
      startKubelet({
        store,
        nodeName: n.name,
        arch: n.arch,
        workDir: `${paths.nodes}/${n.name}`,
        imageCacheDir: paths.images,
        insecureRegistries: [],
        backoffBaseMs: opts.backoffBaseMs,
        registries: opts.registries,
        embeddedRegistry: registryHost,
      }),
    )
  for (const n of nodes) addKubelet(n)
  const controllers = startControllers(store, {
    nodeGraceMs: opts.nodeGraceMs,
    backoffBaseMs: opts.backoffBaseMs,
  })
  const proxy = startServiceProxy({ store, host: address, portStateFile: paths.servicePorts })

  const join: JoinControl | undefined = opts.joinToken
    ? {
        token: opts.joinToken,
        register: async (node) => {
          const d = joinDecision(nodes, node)
          if (d === 'conflict') {
            const arch = nodes.find((n) => n.name === node.name)?.arch
            throw conflictingNode(node, arch ?? '')
          }
          if (d === 'exists') return { created: false }
          nodes.push(node)
          joined.push({ ...node, joinedAt: new Date().toISOString() })
          writeJoinedNodes(paths.joinedNodes, joined)
          addKubelet(node)
          writeState()
          process.stderr.write(`node ${node.name} (${node.arch}) joined\n`)
          return { created: true }
        },
      }
    : undefined
  const apiOptions = {
    store,
    dataDir: paths.pki,
    host: address,
    tlsSans: opts.tlsSans,
    join,
  }

  let registryDown = false
  const faults: FaultControl = {
    stopNode: async (name) => {
      await kubeletNamed(kubelets, name).stop({ graceful: false })
    },
    startNode: async (name) => {
      kubeletNamed(kubelets, name).start()
    },
    failApi: (o) => api.failRequests(o),
    slowPulls: (ms) => {
      for (const k of kubelets) k.slowPulls(ms)
    },
    registryDown: (down) => {
      registryDown = down
      registry.setDown?.(registryDown)
    },
    // Closes the API server and starts it again on the same port with the same state.
    restartApi: async () => {
      await api.close()
      api = await startApiServer({ ...apiOptions, pods, faults, port: api.port })
    },
  }
  const pods = createPodRuntime(kubelets)
  let api = await startApiServer({ ...apiOptions, pods, faults, port: opts.apiPort ?? saved.apiPort ?? 0 })

  const state: SandboxState = {
    pid: process.pid,
    apiUrl: api.url,
    apiPort: api.port,
    ...(opts.address ? { address } : {}),
    registry: registryHost,
    registryPort: registry.port,
    nodes: nodes.map((n) => n.name),
    arch: [...new Set(nodes.map((n) => n.arch))].join(',') || opts.arch,
    startedAt: new Date().toISOString(),
  }
  function writeState(): void {
    state.nodes = nodes.map((n) => n.name)
    state.arch = [...new Set(nodes.map((n) => n.arch))].join(',') || opts.arch
    writeFileSync(paths.stateFile, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 })
  }
  writeFileSync(
    `${paths.dir}/kubeconfig.yaml`,
    sandboxKubeconfig({ apiUrl: api.url, caPem: api.caPem, token: api.token }),
    {
      mode: 0o600,
    },
  )
  if (opts.writeKubeconfig) {
    writePrivate(
      opts.writeKubeconfig,
      k3sKubeconfig({
        apiPort: api.port,
        caPem: api.caPem,
        clientCertPem: api.clientCertPem,
        clientKeyPem: api.clientKeyPem,
      }),
    )
  }
  writeState()

  const stopPersisting = persistPeriodically(store, 2000, (line) => process.stderr.write(`${line}\n`))

  return {
    state,
    store,
    faults,
    async stop() {
      stopPersisting()
      await api.close()
      controllers.stop()
      await Promise.all(kubelets.map((k) => k.stop({ graceful: true })))
      await proxy.stop()
      await registry.close()
      store.close()
    },
  }
}

/**
 * Writes `text` to `file` with mode 0600 in one step (a temporary file renamed over it), so a
 * script that waits for the file never reads half of it, and a wider mode never shows.
 */
function writePrivate(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true })
  const tmp = `${file}.tmp-${process.pid}`
  writeFileSync(tmp, text, { mode: 0o600 })
  chmodSync(tmp, 0o600)
  renameSync(tmp, file)
}

function conflictingNode(node: NodeSpec, arch: string): ApiStatusError {
  return new ApiStatusError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `node "${node.name}" already joined with arch ${arch}, not ${node.arch}`,
    reason: 'AlreadyExists',
    details: { name: node.name, kind: 'nodes' },
    code: 409,
  })
}

function kubeletNamed(kubelets: Kubelet[], name: string): Kubelet {
  const k = kubelets.find((x) => x.nodeName === name)
  if (!k) throw new Error(`no node named ${name}`)
  return k
}

function readSaved(file: string): SavedPorts {
  if (!existsSync(file)) return {}
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as Partial<SandboxState>
    return { apiPort: s.apiPort, registryPort: s.registryPort }
  } catch {
    return {}
  }
}

/** Namespaces every cluster has, and the KEP-1755 ConfigMap that tells tools where the registry is. */
function seedClusterObjects(store: ObjectStore, registryHost: string): void {
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    if (!store.get(RES.namespaces, undefined, name)) {
      store.create(RES.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } })
    }
  }
  const cm: KObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'local-registry-hosting', namespace: 'kube-public' },
    data: {
      'localRegistryHosting.v1': `host: "${registryHost}"\nhelp: "https://github.com/kubernetes/enhancements/tree/master/keps/sig-cluster-lifecycle/generic/1755-communicating-a-local-registry"\n`,
    },
  }
  const existing = store.get(RES.configmaps, 'kube-public', 'local-registry-hosting')
  if (!existing) store.create(RES.configmaps, cm)
  else store.update(RES.configmaps, { ...existing, data: cm.data })
}
