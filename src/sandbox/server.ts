import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { startRegistry } from '../registry/server.js'
import { startApiServer } from './apiserver/index.js'
import { startControllers } from './controllers/index.js'
import { sandboxKubeconfig } from './kubeconfig-fragment.js'
import { createPodRuntime, type Kubelet, startKubelet } from './kubelet/index.js'
import type { SandboxPaths, SandboxState } from './paths.js'
import { RES } from './resources.js'
import { startServiceProxy } from './service-proxy.js'
import { MemoryStore } from './store.js'
import type { FaultControl, KObject, ObjectStore } from './types.js'

export interface SandboxOptions {
  paths: SandboxPaths
  nodes: number
  arch: string
  /** Crash-loop and image-pull back-off base; Kubernetes uses 10 s. */
  backoffBaseMs?: number
  /** How long a NotReady node keeps its pods before they are evicted. */
  nodeGraceMs?: number
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
 * per node (`pi-1`…`pi-N`), the service proxy and the HTTPS API server. Ports are chosen once
 * and kept in `state.json`, so `down`/`up` keeps kubeconfigs and Service URLs valid.
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

  const nodeNames = Array.from({ length: opts.nodes }, (_, i) => `pi-${i + 1}`)
  const kubelets: Kubelet[] = nodeNames.map((nodeName) =>
    startKubelet({
      store,
      nodeName,
      arch: opts.arch,
      workDir: `${paths.nodes}/${nodeName}`,
      imageCacheDir: paths.images,
      insecureRegistries: true,
      backoffBaseMs: opts.backoffBaseMs,
    }),
  )
  const controllers = startControllers(store, { nodeGraceMs: opts.nodeGraceMs })
  const proxy = startServiceProxy({ store, host: '127.0.0.1', portStateFile: paths.servicePorts })

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
      api = await startApiServer({
        store,
        pods,
        faults,
        dataDir: paths.pki,
        host: '127.0.0.1',
        port: api.port,
      })
    },
  }
  const pods = createPodRuntime(kubelets)
  let api = await startApiServer({
    store,
    pods,
    faults,
    dataDir: paths.pki,
    host: '127.0.0.1',
    port: saved.apiPort ?? 0,
  })

  const state: SandboxState = {
    pid: process.pid,
    apiUrl: api.url,
    apiPort: api.port,
    registry: registryHost,
    registryPort: registry.port,
    nodes: nodeNames,
    arch: opts.arch,
    startedAt: new Date().toISOString(),
  }
  writeFileSync(
    `${paths.dir}/kubeconfig.yaml`,
    sandboxKubeconfig({ apiUrl: api.url, caPem: api.caPem, token: api.token }),
    {
      mode: 0o600,
    },
  )
  writeFileSync(paths.stateFile, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 })

  const persist = setInterval(() => store.save(paths.storeFile), 2000)
  persist.unref()

  return {
    state,
    store,
    faults,
    async stop() {
      clearInterval(persist)
      await api.close()
      controllers.stop()
      await Promise.all(kubelets.map((k) => k.stop({ graceful: true })))
      await proxy.stop()
      await registry.close()
      store.save(paths.storeFile)
    },
  }
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
