import { request as httpRequest } from 'node:http'
import { Agent as HttpsAgent, type RequestOptions, request } from 'node:https'
import { stringify } from 'yaml'
import {
  type MergedKubeconfig,
  mergeKubeconfigFiles,
  minifiedKubeconfig,
  resolveKubeconfig,
} from '../core/kubeconfig-rules.js'
import { ARM_VARIANT_LABEL } from '../core/platforms.js'
import { UnreachableError, UsageError } from '../errors.js'
import { kubeconfigFiles } from '../kubeconfig-file.js'
import type { Cluster, ConfigMap, Deployment, Lease, Pod, Service } from '../ports.js'
import { KubeConfig } from './kube-config.js'
import { type InformerTransport, informer } from './kube-informer.js'

export interface ConnectOptions {
  kubeconfig?: string
  context?: string
}

/** Whether a body is a Status the API server wrote about itself, not about reaching a pod. */
function apiServerStatus(body: string): boolean {
  try {
    const j = JSON.parse(body) as { kind?: string; message?: string }
    return (
      j.kind === 'Status' &&
      !/error trying to reach service|connection refused|no endpoints/i.test(j.message ?? '')
    )
  } catch {
    return false
  }
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

/**
 * Loads the kubeconfig as kubectl does (--kubeconfig, $KUBECONFIG, ~/.kube/config) with
 * @kubernetes/client-node, and returns a Cluster that speaks JSON over HTTPS with its
 * credentials (token or client certificate). Errors say what to fix (exit 2).
 */
export function connectCluster(o: ConnectOptions = {}): Cluster {
  const kc = new KubeConfig()
  const files = kubeconfigFiles(o.kubeconfig)
  const shown = files.files.map((f) => f.path).join(':')
  if (files.explicit && files.files[0].text === undefined) {
    throw new UsageError(`kubeconfig ${files.files[0].path} does not exist`, {
      hint: 'start the sandbox (`edgecanary sandbox up`), bootstrap a cluster (`edgecanary init --hosts ...`), or pass --kubeconfig',
    })
  }
  let merged: MergedKubeconfig
  try {
    merged = mergeKubeconfigFiles(files.files)
  } catch (err) {
    throw new UsageError(`kubeconfig ${shown} cannot be read: ${(err as Error).message.split('\n')[0]}`, {
      hint: 'check the file is a valid kubeconfig (kubectl config view)',
    })
  }
  const resolved = resolveKubeconfig(merged, o.context)
  if ('error' in resolved) {
    const known = [...merged.contexts.keys()].join(', ') || 'none'
    if (resolved.error === 'unknown-context') {
      throw new UsageError(`context "${resolved.name}" is not in the kubeconfig (${shown})`, {
        hint: `known contexts: ${known} (kubectl config get-contexts)`,
      })
    }
    if (resolved.error === 'unknown-cluster') {
      throw new UsageError(
        `the kubeconfig context's cluster "${resolved.name}" is not defined (or has no server) in ${shown}`,
        {
          hint: 'kubectl config view shows what is there; kubectl config set-cluster fixes it',
        },
      )
    }
    throw new UsageError(`the kubeconfig (${shown}) has no current context`, {
      hint: `pass --context NAME or run \`kubectl config use-context NAME\` (known: ${known}); \`edgecanary sandbox up\` makes one`,
    })
  }
  try {
    kc.loadFromString(stringify(minifiedKubeconfig(resolved)))
  } catch (err) {
    throw new UsageError(`kubeconfig ${shown} cannot be used: ${(err as Error).message.split('\n')[0]}`, {
      hint: 'check the file is a valid kubeconfig (kubectl config view)',
    })
  }
  const cluster = kc.getCurrentCluster()
  if (!cluster) throw new UsageError('the kubeconfig has no current context', { hint: 'pass --context NAME' })
  const server = new URL(cluster.server)
  const where = `context ${kc.getCurrentContext()} (${cluster.server})`

  // client-node gives every request a new Agent, so a new TCP connection and TLS handshake
  // (about 5 ms each on loopback, tens of ms to a Pi): one keep-alive Agent with the same TLS
  // options serves the whole command. Free sockets are unref'd, so they never hold the process.
  let shared: HttpsAgent | undefined
  async function withCredentials(opts: RequestOptions): Promise<void> {
    await kc.applyToHTTPSOptions(opts)
    if (!(opts.agent instanceof HttpsAgent) || cluster?.proxyUrl) return
    shared ??= new HttpsAgent({ ...opts.agent.options, keepAlive: true })
    opts.agent = shared
  }

  async function call<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
    attempt = 0,
    /** A quick probe: this many attempts in all, each bounded by timeoutMs, 200 ms apart. */
    limit?: { timeoutMs: number; attempts: number },
  ): Promise<T> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
    const opts: RequestOptions = {
      method,
      host: server.hostname,
      port: server.port || (server.protocol === 'https:' ? 443 : 80),
      path,
      headers: {
        accept: 'application/json',
        // Node frames a DELETE body neither with chunks nor a length unless told: the server reads it as garbage (400)
        ...(payload !== undefined
          ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }
          : {}),
      },
      timeout: limit?.timeoutMs ?? 15_000,
    }
    await withCredentials(opts)
    let res: { status: number; text: string }
    try {
      res = await new Promise((resolve, reject) => {
        const req = (server.protocol === 'https:' ? request : httpRequest)(opts, (r) => {
          const chunks: Buffer[] = []
          r.on('data', (c: Buffer) => chunks.push(c))
          r.on('end', () =>
            resolve({ status: r.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          )
          r.on('error', reject)
        })
        req.on('timeout', () => req.destroy(new Error('timeout')))
        req.on('error', reject)
        req.end(payload)
      })
    } catch (err) {
      if (attempt < (limit ? limit.attempts - 1 : 6)) {
        await sleep(limit ? 200 : Math.min(2000, 100 * 2 ** attempt))
        return call(method, path, body, contentType, attempt + 1, limit)
      }
      throw new UnreachableError(
        `the Kubernetes API at ${cluster?.server} is unreachable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        {
          hint: `check ${where} (kubectl cluster-info); for the sandbox: edgecanary sandbox up`,
        },
      )
    }
    if (
      (res.status === 429 || res.status >= 500) &&
      attempt < (limit ? limit.attempts - 1 : 8) &&
      !path.includes('/proxy')
    ) {
      await sleep(limit ? 200 : Math.min(2000, 150 * 2 ** attempt))
      return call(method, path, body, contentType, attempt + 1, limit)
    }
    if (res.status >= 400) {
      let message = res.text.slice(0, 300)
      try {
        message = (JSON.parse(res.text) as { message?: string }).message ?? message
      } catch {}
      if (res.status === 401 || res.status === 403) {
        throw new UsageError(`the Kubernetes API refused the credentials of ${where}: ${message}`, {
          hint: 'check the kubeconfig user (kubectl auth whoami)',
        })
      }
      throw new HttpError(res.status, message || `HTTP ${res.status} for ${method} ${path.split('?')[0]}`)
    }
    return (res.text ? JSON.parse(res.text) : undefined) as T
  }

  const orUndefined = async <T>(p: Promise<T>): Promise<T | undefined> => {
    try {
      return await p
    } catch (err) {
      if (err instanceof HttpError && (err.code === 404 || err.code === 409)) return undefined
      throw err
    }
  }
  /** The answer, or undefined when the API server answered `code` (a refused condition). */
  const undefinedOn = async <T>(code: number, p: Promise<T>): Promise<T | undefined> => {
    try {
      return await p
    } catch (err) {
      if (err instanceof HttpError && err.code === code) return undefined
      throw err
    }
  }
  const ignore404 = async (p: Promise<unknown>) => {
    try {
      await p
    } catch (err) {
      if (!(err instanceof HttpError && err.code === 404)) throw err
    }
  }
  /** A streaming GET, line by line (watches); onEnd gets 200 at a normal end, the status when not 200, 0 on an error. */
  function stream(path: string, onLine: (line: string) => void, onEnd: (status: number) => void): () => void {
    let stopped = false
    let ended = false
    let req: ReturnType<typeof request> | undefined
    const end = (status: number) => {
      if (ended || stopped) return
      ended = true
      onEnd(status)
    }
    const opts: RequestOptions = {
      method: 'GET',
      host: server.hostname,
      port: server.port || (server.protocol === 'https:' ? 443 : 80),
      path,
      headers: { accept: 'application/json' },
    }
    withCredentials(opts).then(
      () => {
        if (stopped) return
        req = (server.protocol === 'https:' ? request : httpRequest)(opts, (r) => {
          if (r.statusCode !== 200) {
            r.resume()
            r.on('end', () => end(r.statusCode ?? 0))
            r.on('error', () => end(r.statusCode ?? 0))
            return
          }
          let buf = ''
          r.setEncoding('utf8')
          r.on('data', (chunk: string) => {
            buf += chunk
            if (buf.length > 16 * 1024 * 1024) req?.destroy(new Error('watch line too long'))
            for (let i = buf.indexOf('\n'); i >= 0 && !stopped; i = buf.indexOf('\n')) {
              const line = buf.slice(0, i)
              buf = buf.slice(i + 1)
              if (line.trim()) onLine(line)
            }
          })
          r.on('end', () => end(200))
          r.on('error', () => end(0))
          r.on('aborted', () => end(0))
        })
        req.on('error', () => end(0))
        req.end()
      },
      () => end(0),
    )
    return () => {
      stopped = true
      req?.destroy()
    }
  }
  const transport: InformerTransport = {
    list: <T>(path: string) => call<{ items: T[]; metadata?: { resourceVersion?: string } }>('GET', path),
    stream,
  }

  const ns = (n: string) => `/api/v1/namespaces/${encodeURIComponent(n)}`
  const apps = (n: string) => `/apis/apps/v1/namespaces/${encodeURIComponent(n)}`
  const coord = (n: string) => `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(n)}`
  const q = (sel: string) => `?labelSelector=${encodeURIComponent(sel)}`

  async function proxyOnce(
    n: string,
    pod: string,
    port: number | string,
    path: string,
  ): Promise<{ status: number; body: string }> {
    const opts: RequestOptions = {
      method: 'GET',
      host: server.hostname,
      port: server.port || 443,
      path: `${ns(n)}/pods/${pod}:${port}/proxy${path}`,
      headers: { accept: '*/*' },
      timeout: 5000,
    }
    await withCredentials(opts)
    return new Promise((resolve) => {
      const req = request(opts, (r) => {
        const chunks: Buffer[] = []
        r.on('data', (c: Buffer) => chunks.push(c))
        r.on('end', () =>
          resolve({ status: r.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        )
      })
      req.on('timeout', () => req.destroy(new Error('timeout')))
      req.on('error', (e) => resolve({ status: 0, body: e.message }))
      req.end()
    })
  }

  const self: Cluster = {
    where,
    contextNamespace: resolved.namespace,
    async ping(o) {
      await call(
        'GET',
        '/version',
        undefined,
        undefined,
        0,
        o?.timeoutMs ? { timeoutMs: o.timeoutMs, attempts: 2 } : undefined,
      )
    },
    // attempt 6: the connection is tried once (no back-off), so `version` answers at once
    serverVersion: () =>
      call<{ gitVersion: string; platform?: string }>('GET', '/version', undefined, undefined, 6),
    async namespaceExists(n) {
      return (await orUndefined(call('GET', ns(n)))) !== undefined
    },
    async ensureNamespace(n, labels) {
      if (await self.namespaceExists(n)) return false
      await orUndefined(
        call('POST', '/api/v1/namespaces', {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: n, labels },
        }),
      )
      return true
    },
    async deleteNamespace(n) {
      await ignore404(call('DELETE', ns(n)))
    },
    getDeployment: (n, name) => orUndefined(call<Deployment>('GET', `${apps(n)}/deployments/${name}`)),
    async listDeployments(sel, n) {
      const path = n ? `${apps(n)}/deployments${q(sel)}` : `/apis/apps/v1/deployments${q(sel)}`
      return (await call<{ items: Deployment[] }>('GET', path)).items
    },
    async applyDeployment(n, d) {
      const cur = await self.getDeployment(n, d.metadata.name)
      const body = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        ...d,
        metadata: { ...d.metadata, namespace: n },
      }
      if (!cur) return call<Deployment>('POST', `${apps(n)}/deployments`, body)
      return call<Deployment>('PUT', `${apps(n)}/deployments/${d.metadata.name}`, {
        ...body,
        metadata: {
          ...cur.metadata,
          labels: d.metadata.labels,
          annotations: { ...cur.metadata.annotations, ...d.metadata.annotations },
        },
      })
    },
    patchDeployment: (n, name, patch) =>
      call<Deployment>('PATCH', `${apps(n)}/deployments/${name}`, patch, 'application/merge-patch+json'),
    patchDeploymentIf(n, name, resourceVersion, patch) {
      const p = patch as { metadata?: object }
      const body = { ...p, metadata: { ...(p.metadata ?? {}), resourceVersion } }
      return undefinedOn(
        409,
        call<Deployment>('PATCH', `${apps(n)}/deployments/${name}`, body, 'application/merge-patch+json'),
      )
    },
    patchDeploymentJson: (n, name, ops) =>
      undefinedOn(
        422,
        call<Deployment>('PATCH', `${apps(n)}/deployments/${name}`, ops, 'application/json-patch+json'),
      ),
    watchDeployment(n, name, onChange) {
      // one JSON watch event per line; ADDED (the state the watch starts from) and MODIFIED
      return stream(
        `${apps(n)}/deployments?watch=1&fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`,
        (line) => {
          let ev: { type?: string; object?: Deployment } | undefined
          try {
            ev = JSON.parse(line) as { type?: string; object?: Deployment }
          } catch {}
          if ((ev?.type === 'ADDED' || ev?.type === 'MODIFIED') && ev.object) onChange(ev.object)
        },
        () => {},
      )
    },
    inform(resource, n, selector, handlers) {
      const path = {
        pods: `${ns(n)}/pods`,
        deployments: `${apps(n)}/deployments`,
        leases: `${coord(n)}/leases`,
        events: `${ns(n)}/events`,
      }[resource]
      return informer(transport, path, selector, handlers)
    },
    deleteDeployment: (n, name) =>
      ignore404(call('DELETE', `${apps(n)}/deployments/${name}`, { propagationPolicy: 'Background' })),
    async listPods(n, sel) {
      return (await call<{ items: Pod[] }>('GET', `${ns(n)}/pods${q(sel)}`)).items
    },
    async podProxyGet(n, pod, port, path) {
      // an error the API server made itself (a fault, overload: a Status not about reaching the
      // pod) says nothing about the pod: asked again, as call() does for other paths; an
      // "error trying to reach service" (nothing listens) is the pod's answer and is returned
      for (let attempt = 0; ; attempt++) {
        const r = await proxyOnce(n, pod, port, path)
        if (attempt >= 5 || !(r.status === 429 || r.status >= 500) || !apiServerStatus(r.body)) return r
        await sleep(Math.min(2000, 150 * 2 ** attempt))
      }
    },
    async setPodCondition(n, pod, type, ok, reason) {
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
      await call(
        'PATCH',
        `${ns(n)}/pods/${pod}/status`,
        {
          status: {
            conditions: [
              { type, status: ok ? 'True' : 'False', reason, lastTransitionTime: now, lastProbeTime: now },
            ],
          },
        },
        'application/strategic-merge-patch+json',
      )
    },
    getLease: (n, name) => orUndefined(call<Lease>('GET', `${coord(n)}/leases/${name}`)),
    createLease: (n, l) =>
      orUndefined(
        call<Lease>('POST', `${coord(n)}/leases`, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          ...l,
        }),
      ),
    replaceLease: (n, l) =>
      orUndefined(
        call<Lease>('PUT', `${coord(n)}/leases/${l.metadata.name}`, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          ...l,
        }),
      ),
    deleteLease: (n, name) => ignore404(call('DELETE', `${coord(n)}/leases/${name}`)),
    getConfigMap: (n, name) => orUndefined(call<ConfigMap>('GET', `${ns(n)}/configmaps/${name}`)),
    async applyConfigMap(n, cm) {
      const cur = await self.getConfigMap(n, cm.metadata.name)
      const body = { apiVersion: 'v1', kind: 'ConfigMap', ...cm, metadata: { ...cm.metadata, namespace: n } }
      if (!cur) await call('POST', `${ns(n)}/configmaps`, body)
      else
        await call('PUT', `${ns(n)}/configmaps/${cm.metadata.name}`, {
          ...body,
          metadata: { ...body.metadata, resourceVersion: cur.metadata.resourceVersion },
        })
    },
    replaceConfigMap: (n, cm) =>
      orUndefined(
        call<ConfigMap>('PUT', `${ns(n)}/configmaps/${cm.metadata.name}`, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          ...cm,
          metadata: { ...cm.metadata, namespace: n },
        }),
      ),
    deleteConfigMap: (n, name) => ignore404(call('DELETE', `${ns(n)}/configmaps/${name}`)),
    getService: (n, name) => orUndefined(call<Service>('GET', `${ns(n)}/services/${name}`)),
    async applyService(n, svc) {
      const cur = await self.getService(n, svc.metadata.name)
      const body = { apiVersion: 'v1', kind: 'Service', ...svc, metadata: { ...svc.metadata, namespace: n } }
      if (!cur) return call<Service>('POST', `${ns(n)}/services`, body)
      // keep the allocated nodePorts, as kubectl apply does
      const ports = (svc.spec.ports ?? []).map((p, i) => ({
        ...p,
        nodePort: p.nodePort ?? cur.spec.ports?.[i]?.nodePort,
      }))
      return call<Service>(
        'PATCH',
        `${ns(n)}/services/${svc.metadata.name}`,
        { metadata: { labels: svc.metadata.labels }, spec: { ...svc.spec, ports } },
        'application/merge-patch+json',
      )
    },
    deleteService: (n, name) => ignore404(call('DELETE', `${ns(n)}/services/${name}`)),
    async recordEvent(n, on, reason, message, type = 'Normal') {
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
      await orUndefined(
        call('POST', `${ns(n)}/events`, {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { generateName: `${on.metadata.name}.`, namespace: n },
          involvedObject: {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: on.metadata.name,
            namespace: n,
            uid: on.metadata.uid,
          },
          reason,
          message,
          type,
          source: { component: 'edgecanary' },
          reportingComponent: 'edgecanary',
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        }),
      )
    },
    async autoscaledDeployments(n) {
      const list = await orUndefined(
        call<{
          items: {
            metadata: { name: string }
            spec?: { scaleTargetRef?: { kind?: string; name?: string } }
          }[]
        }>('GET', `/apis/autoscaling/v2/namespaces/${encodeURIComponent(n)}/horizontalpodautoscalers`),
      )
      return (list?.items ?? [])
        .filter((h) => h.spec?.scaleTargetRef?.kind === 'Deployment' && h.spec.scaleTargetRef.name)
        .map((h) => ({ hpa: h.metadata.name, deployment: h.spec?.scaleTargetRef?.name ?? '' }))
    },
    async nodeArchitectures() {
      const nodes = await call<{ items: { metadata: { labels?: Record<string, string> } }[] }>(
        'GET',
        '/api/v1/nodes',
      )
      return [...new Set(nodes.items.map((n) => n.metadata.labels?.['kubernetes.io/arch'] ?? 'unknown'))]
    },
    async nodes() {
      const nodes = await call<{
        items: {
          metadata: { name: string; labels?: Record<string, string> }
          status?: { conditions?: { type: string; status: string }[] }
        }[]
      }>('GET', '/api/v1/nodes')
      return nodes.items.map((n) => ({
        name: n.metadata.name,
        ready: (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
        arch: n.metadata.labels?.['kubernetes.io/arch'],
      }))
    },
    async nodeFacts() {
      const nodes = await call<{
        items: {
          metadata: { name: string; labels?: Record<string, string> }
          spec?: { unschedulable?: boolean; taints?: { effect?: string }[] }
          status?: { nodeInfo?: { architecture?: string } }
        }[]
      }>('GET', '/api/v1/nodes')
      return nodes.items.map((n) => ({
        name: n.metadata.name,
        architecture: n.status?.nodeInfo?.architecture,
        archLabel: n.metadata.labels?.['kubernetes.io/arch'],
        armVariant: n.metadata.labels?.[ARM_VARIANT_LABEL],
        unschedulable: n.spec?.unschedulable === true,
        taintEffects: (n.spec?.taints ?? []).map((t) => t.effect ?? ''),
      }))
    },
  }
  return self
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
