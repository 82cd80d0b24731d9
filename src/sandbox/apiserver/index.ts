import type { IncomingMessage, ServerResponse } from 'node:http'
import { request as httpRequest } from 'node:http'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { parse as parseYaml } from 'yaml'
import { hostForUrl, reachableAddress } from '../../net.js'
import {
  ApiStatusError,
  badRequest,
  internalError,
  methodNotAllowed,
  notFound,
  tooManyRequests,
  unauthorized,
  unsupportedMediaType,
} from '../api-errors.js'
import { bearerMatches, JOIN_PATH, type NodeSpec, parseJoinRequest } from '../node-join.js'
import { serveExec } from '../pod-exec.js'
import { apiVersionOf, RES, type ResourceInfo, resourceFor } from '../resources.js'
import type { FaultControl, KObject, ObjectStore, PodRuntime } from '../types.js'
import {
  apiGroupList,
  apiResourceList,
  apiVersions,
  openapiV3For,
  openapiV3Root,
  versionInfo,
} from './discovery.js'
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js'
import { ensurePki } from './pki.js'
import { tableFor, wantsTable } from './tables.js'

export interface ApiServer {
  url: string
  port: number
  caPem: string
  token: string
  clientCertPem: string
  clientKeyPem: string
  close(): Promise<void>
  failRequests(o: { status: 500 | 429; count?: number; seconds?: number }): void
}

interface Route {
  res: ResourceInfo
  ns?: string
  name?: string
  sub?: string
  rest?: string
}

/** Lets nodes join with a token of their own (see node-join.ts for the endpoint). */
export interface JoinControl {
  token: string
  /** Starts a kubelet for the node; `created` is false when it was already there. */
  register(node: NodeSpec): Promise<{ created: boolean }>
}

/**
 * Starts the sandbox's Kubernetes API over HTTPS (loopback unless `host` says otherwise):
 * bearer token or client certificate (mTLS against the sandbox CA), discovery, REST for every
 * resource in RES, watch, patches, subresources (status, scale, log, proxy), `Status` errors,
 * Table output for kubectl, an admin endpoint for faults, and the node join endpoint.
 */
export async function startApiServer(opts: {
  store: ObjectStore
  pods?: PodRuntime
  faults?: FaultControl
  dataDir: string
  host?: string
  port?: number
  /** Extra IP/DNS names for the server certificate (the bind host is added when it names one). */
  tlsSans?: string[]
  join?: JoinControl
}): Promise<ApiServer> {
  const host = opts.host ?? '127.0.0.1'
  const pki = ensurePki(opts.dataDir, [host, ...(opts.tlsSans ?? [])])
  const store = opts.store
  let failCount = 0
  let failUntil = 0
  let failStatus: 500 | 429 = 500
  const watches = new Set<() => void>()

  const server: Server = createServer(
    {
      key: pki.serverKeyPem,
      cert: pki.serverCertPem,
      ca: pki.caPem,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      handle(req, res).catch((err: unknown) => sendError(res, err))
    },
  )

  serveExec(server, { authorized, exec: opts.pods?.exec, portTarget: opts.pods?.proxyTarget })

  /** The admin token, or a client certificate the sandbox CA signed (k3s kubeconfigs use those). */
  function authorized(req: IncomingMessage): boolean {
    if (bearerMatches(req.headers.authorization, pki.token)) return true
    return (req.socket as TLSSocket).authorized === true
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://sandbox')
    const path = url.pathname
    if (path === '/healthz' || path === '/readyz' || path === '/livez') {
      res.writeHead(200, { 'content-type': 'text/plain' })
      return void res.end('ok')
    }
    // before the general check: the join token is good for this path only, and no other
    if (path === JOIN_PATH) return joinNode(req, res)
    if (!authorized(req)) throw unauthorized()
    if (path.startsWith('/admin/')) return admin(req, res, path)
    if (failCount > 0 || Date.now() < failUntil) {
      if (failCount > 0) failCount--
      if (failStatus === 429) res.setHeader('retry-after', '1')
      throw failStatus === 429 ? tooManyRequests() : internalError('injected fault (sandbox)')
    }
    const method = req.method ?? 'GET'
    if (path === '/version') return sendJson(res, 200, versionInfo())
    if (path === '/api') return sendJson(res, 200, apiVersions())
    if (path === '/apis') return sendJson(res, 200, apiGroupList())
    if (path === '/openapi/v3') return sendJson(res, 200, openapiV3Root())
    if (path.startsWith('/openapi/v3/')) {
      const seg = path.slice('/openapi/v3/'.length).split('/')
      const doc = seg[0] === 'api' ? openapiV3For('', seg[1]) : openapiV3For(seg[1], seg[2])
      if (!doc) throw notFoundPath(path)
      return sendJson(res, 200, doc)
    }
    if (path === '/openapi/v2') {
      // kubectl 1.20's plain apply asks for the protobuf document only and needs a 200: an
      // empty body (an empty protobuf message) of this type will do.
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      return void res.end()
    }
    const gv = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/?$/.exec(path)
    if (gv) {
      const list = gv[1] ? apiResourceList('', 'v1') : apiResourceList(gv[2], gv[3])
      if (!list) throw notFoundPath(path)
      return sendJson(res, 200, list)
    }
    const route = parseRoute(path)
    if (!route) throw notFoundPath(path)
    return serveResource(req, res, url, method, route)
  }

  async function serveResource(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    method: string,
    r: Route,
  ): Promise<void> {
    const q = url.searchParams
    const dryRun = q.get('dryRun') === 'All'
    const t = r.res
    if (r.sub === 'proxy' && t === RES.pods) return proxy(req, res, r)
    if (r.sub === 'log' && t === RES.pods) return logs(res, r, q)
    if (!r.name) {
      if (method === 'GET') {
        const listOpts = {
          namespace: r.ns,
          labelSelector: q.get('labelSelector') ?? undefined,
          fieldSelector: q.get('fieldSelector') ?? undefined,
        }
        if (q.get('watch') === 'true' || q.get('watch') === '1')
          return watch(
            req,
            res,
            t,
            { ...listOpts, resourceVersion: q.get('resourceVersion') ?? undefined },
            q,
          )
        const list = store.list(t, listOpts)
        if (wantsTable(req)) return sendJson(res, 200, tableFor(t, list.items, list.resourceVersion))
        return sendJson(res, 200, {
          kind: `${t.kind}List`,
          apiVersion: apiVersionOf(t),
          metadata: { resourceVersion: list.resourceVersion },
          items: list.items,
        })
      }
      if (method === 'POST') {
        const body = (await readJson(req)) as KObject
        if (t.namespaced) body.metadata = { ...body.metadata, namespace: r.ns ?? body.metadata?.namespace }
        return sendJson(res, 201, store.create(t, body, { dryRun }))
      }
      if (method === 'DELETE') {
        const list = store.list(t, { namespace: r.ns, labelSelector: q.get('labelSelector') ?? undefined })
        for (const o of list.items) store.delete(t, o.metadata.namespace, o.metadata.name, { dryRun })
        return sendJson(res, 200, {
          kind: `${t.kind}List`,
          apiVersion: apiVersionOf(t),
          metadata: {},
          items: list.items,
        })
      }
      throw methodNotAllowed(`${method} is not allowed on a collection`)
    }
    const name = r.name
    const current = () => {
      const o = store.get(t, r.ns, name)
      if (!o) throw notFound(t, name)
      return o
    }
    if (r.sub === 'scale') {
      if (t !== RES.deployments && t !== RES.replicasets) throw notFoundPath(url.pathname)
      if (method === 'GET') return sendJson(res, 200, scaleOf(current()))
      const o = current()
      const body = await readBody(req)
      const scale =
        method === 'PUT'
          ? (JSON.parse(body) as { spec?: { replicas?: number } })
          : (patchDoc(req, scaleOf(o), body) as { spec?: { replicas?: number } })
      const replicas = scale.spec?.replicas
      if (typeof replicas !== 'number') throw badRequest('spec.replicas is required')
      const updated = store.update(t, { ...o, spec: { ...(o.spec as object), replicas } }, { dryRun })
      return sendJson(res, 200, scaleOf(updated))
    }
    if (r.sub === 'status') {
      if (method === 'GET') return sendJson(res, 200, current())
      const o = current()
      const body = await readBody(req)
      const next = method === 'PUT' ? (JSON.parse(body) as KObject) : (patchDoc(req, o, body) as KObject)
      next.metadata = {
        ...o.metadata,
        resourceVersion: method === 'PUT' ? next.metadata?.resourceVersion : undefined,
      }
      return sendJson(res, 200, store.updateStatus(t, next))
    }
    if (r.sub) throw notFoundPath(url.pathname)
    if (method === 'GET') {
      const o = current()
      if (wantsTable(req)) return sendJson(res, 200, tableFor(t, [o], o.metadata.resourceVersion ?? ''))
      return sendJson(res, 200, o)
    }
    if (method === 'PUT') {
      const body = (await readJson(req)) as KObject
      body.metadata = { ...body.metadata, name, namespace: r.ns }
      if (t === RES.leases && !store.get(t, r.ns, name))
        return sendJson(res, 201, store.create(t, body, { dryRun }))
      return sendJson(res, 200, store.update(t, body, { dryRun }))
    }
    if (method === 'PATCH') {
      const body = await readBody(req)
      const type = (req.headers['content-type'] ?? '').split(';')[0]
      const existing = store.get(t, r.ns, name)
      if (!existing) {
        if (type !== 'application/apply-patch+yaml') throw notFound(t, name)
        const created = parseYaml(body) as KObject
        created.metadata = { ...created.metadata, name, namespace: r.ns }
        return sendJson(res, 201, store.create(t, created, { dryRun }))
      }
      const next = patchDoc(req, existing, body) as KObject
      if (!next.metadata?.resourceVersion) next.metadata = { ...next.metadata, resourceVersion: undefined }
      next.metadata.resourceVersion = (patchedRv(body) ?? undefined) as string | undefined
      return sendJson(res, 200, store.update(t, next, { dryRun }))
    }
    if (method === 'DELETE') {
      const raw = await readBody(req)
      const opts = raw
        ? (JSON.parse(raw) as {
            gracePeriodSeconds?: number
            propagationPolicy?: string
            preconditions?: { uid?: string }
          })
        : {}
      const grace = q.get('gracePeriodSeconds') ?? opts.gracePeriodSeconds
      const o = store.delete(t, r.ns, name, {
        gracePeriodSeconds: grace === undefined || grace === null ? undefined : Number(grace),
        propagationPolicy: q.get('propagationPolicy') ?? opts.propagationPolicy,
        preconditionUid: opts.preconditions?.uid,
        dryRun,
      })
      return sendJson(res, 200, o)
    }
    throw methodNotAllowed(`${method} is not allowed`)
  }

  function watch(
    req: IncomingMessage,
    res: ServerResponse,
    t: ResourceInfo,
    o: { namespace?: string; labelSelector?: string; fieldSelector?: string; resourceVersion?: string },
    q: URLSearchParams,
  ): void {
    const table = wantsTable(req)
    res.writeHead(200, {
      'content-type': 'application/json',
      'transfer-encoding': 'chunked',
      'cache-control': 'no-cache',
    })
    res.flushHeaders()
    const send = (ev: { type: string; object: unknown }) => res.write(`${JSON.stringify(ev)}\n`)
    let w: { stop(): void } | undefined
    const stop = () => {
      w?.stop()
      watches.delete(stop)
      clearTimeout(timer)
      if (!res.writableEnded) res.end()
    }
    const timeout = Math.min(Number(q.get('timeoutSeconds') ?? 1800), 3600) * 1000
    const timer = setTimeout(stop, timeout)
    watches.add(stop)
    req.on('close', stop)
    try {
      w = store.watch(t, o, (ev) =>
        send(
          table
            ? { type: ev.type, object: tableFor(t, [ev.object], ev.object.metadata.resourceVersion ?? '') }
            : ev,
        ),
      )
    } catch (err) {
      if (err instanceof ApiStatusError) send({ type: 'ERROR', object: err.status })
      stop()
    }
  }

  async function logs(res: ServerResponse, r: Route, q: URLSearchParams): Promise<void> {
    const pod = store.get(RES.pods, r.ns, r.name ?? '')
    if (!pod) throw notFound(RES.pods, r.name ?? '')
    if (!opts.pods) throw badRequest('no pod runtime')
    const ac = new AbortController()
    res.on('close', () => ac.abort())
    const lines = opts.pods.logs(r.ns ?? 'default', pod.metadata.name, {
      container: q.get('container') ?? undefined,
      tailLines: q.has('tailLines') ? Number(q.get('tailLines')) : undefined,
      timestamps: q.get('timestamps') === 'true',
      follow: q.get('follow') === 'true',
      previous: q.get('previous') === 'true',
      signal: ac.signal,
    })
    res.writeHead(200, { 'content-type': 'text/plain' })
    for await (const line of lines) res.write(line)
    res.end()
  }

  async function proxy(req: IncomingMessage, res: ServerResponse, r: Route): Promise<void> {
    const [podName, port] = (r.name ?? '').split(':')
    const pod = store.get(RES.pods, r.ns, podName)
    if (!pod) throw notFound(RES.pods, podName)
    const target = opts.pods?.proxyTarget(r.ns ?? 'default', podName, port)
    if (!target) {
      throw new ApiStatusError({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `pod ${podName} is not running`,
        reason: 'ServiceUnavailable',
        code: 503,
      })
    }
    const search = new URL(req.url ?? '/', 'https://x').search
    await new Promise<void>((resolve) => {
      const up = httpRequest(
        {
          host: target.host,
          port: target.port,
          method: req.method,
          path: `/${r.rest ?? ''}${search}`,
          headers: { accept: '*/*' },
          timeout: 5000,
        },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, {
            'content-type': upRes.headers['content-type'] ?? 'text/plain',
            ...(upRes.headers['x-app-version'] ? { 'x-app-version': upRes.headers['x-app-version'] } : {}),
          })
          upRes.pipe(res)
          upRes.on('end', () => resolve())
        },
      )
      up.on('timeout', () => up.destroy(new Error('timeout')))
      up.on('error', (err) => {
        sendError(
          res,
          new ApiStatusError({
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: `error trying to reach service: ${err.message}`,
            reason: 'ServiceUnavailable',
            code: 503,
          }),
        )
        resolve()
      })
      req.pipe(up)
    })
  }

  async function admin(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const f = opts.faults
    if (!f) return sendJson(res, 501, { message: 'no fault control' })
    const body = ((await readJson(req).catch(() => ({}))) ?? {}) as {
      status?: 500 | 429
      count?: number
      seconds?: number
      ms?: number
      down?: boolean
    }
    const node = /^\/admin\/nodes\/([^/]+)\/(stop|start)$/.exec(path)
    if (node) {
      if (!store.get(RES.nodes, undefined, node[1]))
        return sendJson(res, 404, { message: `no node named ${node[1]}` })
      await (node[2] === 'stop' ? f.stopNode(node[1]) : f.startNode(node[1]))
      return sendJson(res, 200, { ok: true })
    }
    if (path === '/admin/faults/api') {
      failRequests({ status: body.status ?? 500, count: body.count, seconds: body.seconds })
      return sendJson(res, 200, { ok: true })
    }
    if (path === '/admin/faults/pulls') {
      f.slowPulls(body.ms ?? 0)
      return sendJson(res, 200, { ok: true })
    }
    if (path === '/admin/faults/registry') {
      f.registryDown(Boolean(body.down))
      return sendJson(res, 200, { ok: true })
    }
    return sendJson(res, 404, { message: `unknown admin path ${path}` })
  }

  async function joinNode(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const join = opts.join
    if (!join) throw notFoundPath(JOIN_PATH)
    if (!bearerMatches(req.headers.authorization, join.token) && !authorized(req)) throw unauthorized()
    if (req.method !== 'POST') throw methodNotAllowed(`${req.method} is not allowed on ${JOIN_PATH}`)
    const node = parseJoinRequest(await readJson(req))
    if ('error' in node) throw badRequest(node.error)
    const { created } = await join.register(node)
    return sendJson(res, created ? 201 : 200, { ...node, created })
  }

  function failRequests(o: { status: 500 | 429; count?: number; seconds?: number }): void {
    failStatus = o.status
    failCount = o.count ?? 0
    failUntil = o.seconds ? Date.now() + o.seconds * 1000 : 0
    if (!o.count && !o.seconds) failCount = 1
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  return {
    url: `https://${hostForUrl(reachableAddress(host))}:${port}`,
    port,
    caPem: pki.caPem,
    token: pki.token,
    clientCertPem: pki.clientCertPem,
    clientKeyPem: pki.clientKeyPem,
    failRequests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const stop of [...watches]) stop()
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** `/api/v1/namespaces/ns/pods/p/log` → { res: pods, ns, name: 'p', sub: 'log' }. */
export function parseRoute(path: string): Route | undefined {
  const m = /^\/(?:api\/v1|apis\/([^/]+)\/([^/]+))\/(.*)$/.exec(path)
  if (!m) return undefined
  const group = m[1] ?? ''
  const seg = m[3].split('/')
  if (seg[0] === 'namespaces' && seg.length >= 3) {
    const res = resourceFor(group, seg[2])
    if (res?.namespaced) {
      return { res, ns: seg[1], name: seg[3] || undefined, sub: seg[4], rest: seg.slice(5).join('/') }
    }
  }
  const res = resourceFor(group, seg[0])
  if (!res) return undefined
  return { res, name: seg[1] || undefined, sub: seg[2], rest: seg.slice(3).join('/') }
}

function notFoundPath(path: string): ApiStatusError {
  return new ApiStatusError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `the server could not find the requested resource (${path})`,
    reason: 'NotFound',
    details: {},
    code: 404,
  })
}

function scaleOf(o: KObject) {
  const spec = o.spec as { replicas?: number; selector?: { matchLabels?: Record<string, string> } }
  const status = o.status as { replicas?: number } | undefined
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: o.metadata.name,
      namespace: o.metadata.namespace,
      uid: o.metadata.uid,
      resourceVersion: o.metadata.resourceVersion,
      creationTimestamp: o.metadata.creationTimestamp,
    },
    spec: { replicas: spec.replicas ?? 0 },
    status: {
      replicas: status?.replicas ?? 0,
      selector: Object.entries(spec.selector?.matchLabels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    },
  }
}

function patchDoc(req: IncomingMessage, doc: unknown, body: string): unknown {
  const type = (req.headers['content-type'] ?? '').split(';')[0]
  switch (type) {
    case 'application/merge-patch+json':
      return mergePatch(doc, JSON.parse(body))
    case 'application/strategic-merge-patch+json':
      return strategicMergePatch(doc, JSON.parse(body))
    case 'application/json-patch+json':
      return jsonPatch(doc, JSON.parse(body))
    case 'application/apply-patch+yaml':
      return strategicMergePatch(doc, parseYaml(body))
    default:
      throw unsupportedMediaType(type)
  }
}

/** A patch that names a resourceVersion asks for optimistic concurrency; otherwise none. */
function patchedRv(body: string): string | undefined {
  try {
    const p = JSON.parse(body) as { metadata?: { resourceVersion?: string } }
    return p?.metadata?.resourceVersion
  } catch {
    return undefined
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]
  if (type.includes('protobuf')) throw unsupportedMediaType(type)
  const text = await readBody(req)
  if (!text) return {}
  try {
    return type.includes('yaml') ? parseYaml(text) : JSON.parse(text)
  } catch (err) {
    throw badRequest(`invalid request body: ${(err as Error).message}`)
  }
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const status = err instanceof ApiStatusError ? err.status : internalError(String(err)).status
  sendJson(res, status.code, status)
}
