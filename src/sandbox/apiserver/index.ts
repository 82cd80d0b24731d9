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
  notAcceptable,
  notFound,
  tooManyRequests,
  unauthorized,
  unsupportedMediaType,
} from '../api-errors.js'
import { bearerMatches, JOIN_PATH, type NodeSpec, parseJoinRequest } from '../node-join.js'
import { serveExec } from '../pod-exec.js'
import { apiVersionOf, RES, type ResourceInfo, resourceFor } from '../resources.js'
import { checkSelectors, timestamp } from '../store.js'
import type { FaultControl, KObject, ObjectStore, PodRuntime } from '../types.js'
import { jsonTextDepth, MAX_JSON_DEPTH, parseJsonBody, readLimitedBody, tooDeep, valueDepth } from './body.js'
import { decodeObject, fieldValidationOf } from './decode.js'
import { defaultPropagation, deleteAnswer } from './delete-answer.js'
import {
  apiGroupList,
  apiResourceList,
  apiVersions,
  openapiV3For,
  openapiV3Root,
  versionInfo,
} from './discovery.js'
import { kindMessage } from './kube-schema.js'
import { RequestMetrics } from './metrics.js'
import { queryBool, queryDryRun, queryIncludeObject, queryInt, queryTimeout } from './params.js'
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js'
import { ensurePki } from './pki.js'
import { answerFormat, decodeEnvelope, encodeEnvelope, PROTOBUF } from './protobuf.js'
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
  const metrics = new RequestMetrics()

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
    if (path === '/metrics' && req.method === 'GET') return metrics.serve(res)
    const w = url.searchParams.get('watch')
    metrics.observe(req, res, {
      method: req.method ?? 'GET',
      watch: w === 'true' || w === '1',
      route: parseRoute(path),
    })
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
    if (route.sub === 'proxy' || route.sub === 'log') return serveResource(req, res, url, method, route)
    const format = answerFormat(req.headers.accept)
    if (!format || (format === 'protobuf' && (queryBool(url.searchParams, 'watch') || wantsTable(req))))
      throw notAcceptable()
    // a write is acknowledged only once it is on the disk
    const durable = method === 'GET' ? res : durableResponse(res)
    return serveResource(req, format === 'protobuf' ? protobufResponse(durable) : durable, url, method, route)
  }

  async function serveResource(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    method: string,
    r: Route,
  ): Promise<void> {
    const q = url.searchParams
    const dryRun = queryDryRun(q)
    queryTimeout(q)
    const includeObject = queryIncludeObject(q)
    const table = (items: KObject[], rv: string) => tableFor(r.res, items, rv, Date.now(), includeObject)
    const t = r.res
    const message = kindMessage(t)
    const fieldValidation = method === 'GET' ? 'Ignore' : fieldValidationOf(q)
    /**
     * A body (or a patched object) through the kind's schema: wrong types are a 400, unknown
     * fields dropped, refused (Strict) or warned about (Warn) — except those `before` already had.
     */
    const decode = (value: unknown, before?: KObject): KObject => {
      if (!message) return value as KObject
      const { object, warnings } = decodeObject(message, t, value, 'Warn')
      if (warnings.length === 0 || fieldValidation === 'Ignore') return object as KObject
      const had = before ? new Set(decodeObject(message, t, before, 'Warn').warnings) : new Set<string>()
      const fresh = warnings.filter((w) => !had.has(w))
      if (fieldValidation === 'Strict' && fresh.length > 0)
        throw badRequest(
          `${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: strict decoding error: ${fresh.join(', ')}`,
        )
      for (const w of fresh) res.appendHeader('warning', `299 - ${JSON.stringify(w)}`)
      return object as KObject
    }
    if (r.sub === 'proxy' && t === RES.pods) return proxy(req, res, r)
    if (r.sub === 'log' && t === RES.pods) return logs(res, r, q)
    if (!r.name) {
      if (method === 'GET') {
        const listOpts = {
          namespace: r.ns,
          labelSelector: q.get('labelSelector') ?? undefined,
          fieldSelector: q.get('fieldSelector') ?? undefined,
        }
        queryInt(q, 'limit')
        checkSelectors(t, listOpts)
        if (queryBool(q, 'watch'))
          return watch(
            req,
            res,
            t,
            { ...listOpts, resourceVersion: q.get('resourceVersion') ?? undefined },
            q,
            includeObject,
          )
        const list = store.list(t, listOpts)
        if (wantsTable(req)) return sendJson(res, 200, table(list.items, list.resourceVersion))
        return sendJson(res, 200, {
          kind: `${t.kind}List`,
          apiVersion: apiVersionOf(t),
          metadata: { resourceVersion: list.resourceVersion },
          items: list.items,
        })
      }
      if (method === 'POST') {
        const body = decode(await readJson(req))
        if (t.namespaced) body.metadata = { ...body.metadata, namespace: r.ns ?? body.metadata?.namespace }
        return sendJson(res, 201, store.create(t, body, { dryRun }))
      }
      if (method === 'DELETE') {
        const list = store.list(t, { namespace: r.ns, labelSelector: q.get('labelSelector') ?? undefined })
        const propagationPolicy = q.get('propagationPolicy') ?? undefined
        for (const o of list.items)
          store.delete(t, o.metadata.namespace, o.metadata.name, { dryRun, propagationPolicy })
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
      if (!t.subresources.includes('scale')) throw notFoundPath(url.pathname)
      if (method === 'GET') return sendJson(res, 200, scaleOf(current()))
      const o = current()
      const body = await readBody(req)
      const scale =
        method === 'PUT'
          ? (parseText(body, 'json') as { spec?: { replicas?: number } })
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
      const next = decode(method === 'PUT' ? parseText(body, 'json') : patchDoc(req, o, body, message), o)
      next.metadata = {
        ...o.metadata,
        resourceVersion: method === 'PUT' ? next.metadata?.resourceVersion : undefined,
      }
      return sendJson(res, 200, store.updateStatus(t, next))
    }
    if (r.sub) throw notFoundPath(url.pathname)
    if (method === 'GET') {
      const o = current()
      if (wantsTable(req)) return sendJson(res, 200, table([o], o.metadata.resourceVersion ?? ''))
      return sendJson(res, 200, o)
    }
    if (method === 'PUT') {
      const body = decode(await readJson(req), store.get(t, r.ns, name))
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
        const created = decode(parseText(body, type))
        created.metadata = { ...created.metadata, name, namespace: r.ns }
        return sendJson(res, 201, store.create(t, created, { dryRun }))
      }
      const next = decode(patchDoc(req, existing, body, message), existing)
      if (!next.metadata?.resourceVersion) next.metadata = { ...next.metadata, resourceVersion: undefined }
      next.metadata.resourceVersion = (patchedRv(body) ?? undefined) as string | undefined
      return sendJson(res, 200, store.update(t, next, { dryRun }))
    }
    if (method === 'DELETE') {
      const raw = await readBody(req)
      const opts = raw
        ? (parseText(raw, 'json') as {
            gracePeriodSeconds?: number
            propagationPolicy?: string
            preconditions?: { uid?: string }
          })
        : {}
      const grace = queryInt(q, 'gracePeriodSeconds') ?? opts.gracePeriodSeconds
      const propagationPolicy = q.get('propagationPolicy') ?? opts.propagationPolicy
      const o = store.delete(t, r.ns, name, {
        gracePeriodSeconds: grace,
        propagationPolicy,
        preconditionUid: opts.preconditions?.uid,
        dryRun,
      })
      const stillThere = dryRun || store.get(t, r.ns, name) !== undefined
      return sendJson(
        res,
        200,
        deleteAnswer(t, o, {
          stillThere,
          policy: propagationPolicy ?? defaultPropagation(t),
          now: timestamp(),
        }),
      )
    }
    throw methodNotAllowed(`${method} is not allowed`)
  }

  function watch(
    req: IncomingMessage,
    res: ServerResponse,
    t: ResourceInfo,
    o: { namespace?: string; labelSelector?: string; fieldSelector?: string; resourceVersion?: string },
    q: URLSearchParams,
    includeObject: 'None' | 'Metadata' | 'Object',
  ): void {
    const table = wantsTable(req)
    const timeout = Math.min(queryInt(q, 'timeoutSeconds') ?? 1800, 3600) * 1000
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
    const timer = setTimeout(stop, timeout)
    watches.add(stop)
    req.on('close', stop)
    try {
      w = store.watch(t, o, (ev) =>
        send(
          table
            ? {
                type: ev.type,
                object: tableFor(
                  t,
                  [ev.object],
                  ev.object.metadata.resourceVersion ?? '',
                  Date.now(),
                  includeObject,
                ),
              }
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
      tailLines: queryInt(q, 'tailLines'),
      timestamps: queryBool(q, 'timestamps'),
      follow: queryBool(q, 'follow'),
      previous: queryBool(q, 'previous'),
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
    // faults change state: only a POST does, so a link followed or a page prefetched does nothing
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST')
      throw methodNotAllowed(`${req.method} is not allowed on ${path}: use POST`)
    }
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

  /** The response, with its answer held back until the store has synced the writes made so far. */
  function durableResponse(res: ServerResponse): ServerResponse {
    const end = res.end.bind(res)
    const writeHead = res.writeHead.bind(res)
    let head: Parameters<ServerResponse['writeHead']> | undefined
    return Object.assign(res, {
      writeHead: (...args: Parameters<ServerResponse['writeHead']>) => {
        head = args
        return res
      },
      end: (chunk?: unknown) => {
        const finish = () => {
          if (head) writeHead(...head)
          end(chunk as string)
        }
        const sync = store.durable?.()
        if (!sync) finish()
        else
          sync.then(finish, (err: unknown) => {
            head = undefined
            const status = internalError(`the write could not be synced: ${(err as Error).message}`).status
            const text = JSON.stringify(status)
            writeHead(500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
            end(text)
          })
        return res
      },
    }) as ServerResponse
  }

  /** The response, its JSON answer sent as a Kubernetes protobuf object instead (Accept asked only for that). */
  function protobufResponse(res: ServerResponse): ServerResponse {
    const end = res.end.bind(res)
    const writeHead = res.writeHead.bind(res)
    let code = 200
    return Object.assign(res, {
      writeHead: (status: number) => {
        code = status
        return res
      },
      end: (chunk?: unknown) => {
        const obj = JSON.parse(String(chunk ?? '{}')) as { apiVersion?: string; kind?: string }
        const bytes = encodeEnvelope(obj.apiVersion ?? 'v1', obj.kind ?? '', obj)
        writeHead(code, { 'content-type': PROTOBUF, 'content-length': bytes.length })
        end(bytes)
        return res
      },
    }) as ServerResponse
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
  // a ReplicationController's selector is a plain map, not a LabelSelector
  const labels =
    o.kind === 'ReplicationController'
      ? (spec.selector as Record<string, string>)
      : spec.selector?.matchLabels
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
      selector: Object.entries(labels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    },
  }
}

function patchDoc(req: IncomingMessage, doc: unknown, body: string, message?: string): unknown {
  const type = (req.headers['content-type'] ?? '').split(';')[0]
  switch (type) {
    case 'application/merge-patch+json':
      return mergePatch(doc, parseText(body, type))
    case 'application/strategic-merge-patch+json':
      return strategicMergePatch(doc, parseText(body, type), message)
    case 'application/json-patch+json':
      return jsonPatch(doc, parseText(body, type))
    case 'application/apply-patch+yaml':
      return strategicMergePatch(doc, parseText(body, type), message)
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
  return (await readLimitedBody(req)).toString('utf8')
}

/** A body as JSON or YAML, bounded in size (413) and depth (400); text that does not parse is a 400. */
function parseText(text: string, type: string): unknown {
  try {
    if (!type.includes('yaml')) return parseJsonBody(text)
    if (jsonTextDepth(text) > MAX_JSON_DEPTH) throw tooDeep()
    const value: unknown = parseYaml(text)
    if (valueDepth(value) > MAX_JSON_DEPTH) throw tooDeep()
    return value
  } catch (err) {
    if (err instanceof ApiStatusError) throw err
    throw badRequest(`invalid request body: ${(err as Error).message}`)
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim()
  if (type === PROTOBUF) {
    const object = decodeEnvelope(await readLimitedBody(req))
    if (valueDepth(object) > MAX_JSON_DEPTH) throw tooDeep()
    return object
  }
  if (type.includes('protobuf')) throw unsupportedMediaType(type)
  const text = await readBody(req)
  if (!text) return {}
  return parseText(text, type)
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
