import type { IncomingMessage, ServerResponse } from 'node:http'

/** The labels kube-apiserver puts on `apiserver_request_total`, as far as the sandbox knows them. */
export interface RequestLabels {
  verb: string
  group: string
  version: string
  resource: string
  subresource: string
  scope: 'cluster' | 'namespace' | 'resource' | ''
  code: number
}

/** A request as the router saw it: method, whether it was a watch, and the route it named. */
export interface RequestShape {
  method: string
  watch: boolean
  route?: {
    res: { group: string; version: string; resource: string }
    ns?: string
    name?: string
    sub?: string
  }
}

/**
 * kube-apiserver's verb label of a request (`metrics.CleanVerb`): GET of a collection is LIST,
 * `?watch` is WATCH, a subresource that proxies or streams (`proxy`, `exec`, `attach`,
 * `portforward`) is CONNECT, else the HTTP method.
 *
 *   requestVerb({ method: 'GET', watch: false, route: { res, ns: 'p' } }) → 'LIST'
 *   requestVerb({ method: 'GET', watch: false, route: { res, ns: 'p', name: 'x', sub: 'proxy' } }) → 'CONNECT'
 */
export function requestVerb(r: RequestShape): string {
  const m = r.method.toUpperCase()
  if (['proxy', 'exec', 'attach', 'portforward'].includes(r.route?.sub ?? '')) return 'CONNECT'
  if (m === 'GET' && r.watch) return 'WATCH'
  if (m === 'GET' && r.route && !r.route.name) return 'LIST'
  return m
}

/**
 * The sandbox API server's request counter in kube-apiserver's shape, served on `/metrics` in
 * the Prometheus text format (version 0.0.4), e.g.
 *
 *   apiserver_request_total{code="200",component="apiserver",group="apps",resource="deployments",scope="resource",subresource="",verb="GET",version="v1"} 3
 *
 * Only requests for resources are counted (as kube-apiserver labels them); discovery and
 * other paths are not.
 */
export class RequestMetrics {
  private readonly counts = new Map<string, number>()

  record(l: RequestLabels): void {
    const key = JSON.stringify(l)
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
  }

  /** Counts a routed request when its response has been sent (a watch when it ends, as kube-apiserver does). */
  observe(req: IncomingMessage, res: ServerResponse, shape: RequestShape): void {
    const route = shape.route
    if (!route) return
    const done = () =>
      this.record({
        verb: requestVerb(shape),
        group: route.res.group,
        version: route.res.version,
        resource: route.res.resource,
        subresource: route.sub ?? '',
        scope: route.name ? 'resource' : route.ns ? 'namespace' : 'cluster',
        code: res.statusCode,
      })
    let counted = false
    const once = () => {
      if (counted) return
      counted = true
      done()
    }
    res.on('finish', once)
    res.on('close', once)
    req.on('error', () => {})
  }

  render(): string {
    const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
    const lines = [
      '# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.',
      '# TYPE apiserver_request_total counter',
    ]
    for (const [key, n] of [...this.counts].sort(([a], [b]) => a.localeCompare(b))) {
      const l = JSON.parse(key) as RequestLabels
      const labels = {
        code: String(l.code),
        component: 'apiserver',
        dry_run: '',
        group: l.group,
        resource: l.resource,
        scope: l.scope,
        subresource: l.subresource,
        verb: l.verb,
        version: l.version,
      }
      const text = Object.entries(labels)
        .map(([k, v]) => `${k}="${esc(v)}"`)
        .join(',')
      lines.push(`apiserver_request_total{${text}} ${n}`)
    }
    return `${lines.join('\n')}\n`
  }

  /** Answers `GET /metrics` (the caller has authenticated the request). */
  serve(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
    res.end(this.render())
  }
}
