import { request } from 'node:https'
import { sandboxCredentials } from './api-watch.js'

/** One line of `apiserver_request_total`: its labels and its count. */
export interface RequestCount {
  labels: Record<string, string>
  value: number
}

/** Reads the sandbox API server's `/metrics` (with the kubeconfig's CA and token) and parses `apiserver_request_total`. */
export async function apiRequestCounts(kubeconfig: string): Promise<RequestCount[]> {
  const { server, ca, token } = sandboxCredentials(kubeconfig)
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(
      {
        host: server.hostname,
        port: server.port,
        path: '/metrics',
        ca,
        headers: { authorization: `Bearer ${token}` },
      },
      (res) => {
        let body = ''
        res.on('data', (c: Buffer) => {
          body += c.toString()
        })
        res.on('end', () =>
          res.statusCode === 200 ? resolve(body) : reject(new Error(`/metrics: HTTP ${res.statusCode}`)),
        )
      },
    )
    req.on('error', reject)
    req.end()
  })
  const out: RequestCount[] = []
  for (const line of text.split('\n')) {
    const m = /^apiserver_request_total\{(.*)\} (\d+(?:\.\d+)?)$/.exec(line)
    if (!m) continue
    const labels: Record<string, string> = {}
    for (const p of m[1].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[p[1]] = p[2]
    out.push({ labels, value: Number(m[2]) })
  }
  return out
}

/**
 * The requests made between two readings, by `verb resource[/subresource]`, leaving out the
 * pod-proxy subresource (the analysis's own probes of the app), sorted by count.
 */
export function requestsBetween(
  before: RequestCount[],
  after: RequestCount[],
): { key: string; count: number }[] {
  const sum = (xs: RequestCount[]) => {
    const m = new Map<string, number>()
    for (const x of xs) {
      if (x.labels.subresource === 'proxy') continue
      const key = `${x.labels.verb} ${x.labels.resource}${x.labels.subresource ? `/${x.labels.subresource}` : ''}`
      m.set(key, (m.get(key) ?? 0) + x.value)
    }
    return m
  }
  const a = sum(before)
  const b = sum(after)
  return [...b]
    .map(([key, n]) => ({ key, count: n - (a.get(key) ?? 0) }))
    .filter((x) => x.count > 0)
    .sort((x, y) => y.count - x.count)
}
