import { readFileSync } from 'node:fs'
import { request } from 'node:https'
import { parse } from 'yaml'

/** The sandbox kubeconfig's server, CA and bearer token (its one cluster and user). */
export function sandboxCredentials(kubeconfig: string): { server: URL; ca: Buffer; token: string } {
  const cfg = parse(readFileSync(kubeconfig, 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[]
    users: { user: { token: string } }[]
  }
  return {
    server: new URL(cfg.clusters[0].cluster.server),
    ca: Buffer.from(cfg.clusters[0].cluster['certificate-authority-data'], 'base64'),
    token: cfg.users[0].user.token,
  }
}

/**
 * A watch over the sandbox's HTTPS API, as a client such as `kubectl get -w` opens it: `path`
 * (with `?watch=true`) is requested with the kubeconfig's CA and token, and each event line is
 * handed to `onEvent` as it arrives, until `stop()`.
 */
export function watchApi<T>(kubeconfig: string, path: string, onEvent: (ev: T) => void): { stop(): void } {
  const { server, ca, token } = sandboxCredentials(kubeconfig)
  let buf = ''
  const req = request(
    { host: server.hostname, port: server.port, path, ca, headers: { authorization: `Bearer ${token}` } },
    (res) => {
      res.on('data', (chunk: Buffer) => {
        buf += chunk.toString()
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          const line = buf.slice(0, i)
          buf = buf.slice(i + 1)
          if (line.trim()) onEvent(JSON.parse(line) as T)
        }
      })
    },
  )
  req.on('error', () => {})
  req.end()
  return { stop: () => req.destroy() }
}
