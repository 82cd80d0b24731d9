import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { reachableAddress } from '../net.js'
import { RES } from './resources.js'
import type { KObject, ObjectStore, Watch } from './types.js'

interface Backend {
  host: string
  port: number
}

/**
 * Picks a backend the way kube-proxy's iptables rules do: uniformly at random per new
 * connection (rule i of n matches with probability 1/(n−i)).
 *
 *   pickBackend([a, b, c, d], () => 0.6) → c
 */
export function pickBackend<T>(backends: T[], random: () => number = Math.random): T | undefined {
  if (backends.length === 0) return undefined
  return backends[Math.min(backends.length - 1, Math.floor(random() * backends.length))]
}

/**
 * Ready backends of a Service port from its Endpoints: the subset port named like the
 * Service port (or the only one), on each Ready address.
 */
export function readyBackends(ep: KObject | undefined, portName: string | undefined): Backend[] {
  const subsets =
    (ep?.subsets as { addresses?: { ip: string }[]; ports?: { name?: string; port: number }[] }[]) ?? []
  const out: Backend[] = []
  for (const s of subsets) {
    const port = (s.ports ?? []).find((p) => (portName ? p.name === portName : true)) ?? s.ports?.[0]
    if (!port) continue
    for (const a of s.addresses ?? []) out.push({ host: a.ip, port: port.port })
  }
  return out
}

/**
 * Publishes `LoadBalancer` and `NodePort` Services on `host` (default 127.0.0.1): one listener
 * per Service port (the nodePort when free, else a free port, remembered across restarts),
 * address and port written to `status.loadBalancer.ingress` and `spec.ports[].nodePort`. A
 * connection with no Ready endpoint is reset at once.
 */
export function startServiceProxy(opts: { store: ObjectStore; host?: string; portStateFile?: string }): {
  stop(): Promise<void>
} {
  const { store } = opts
  const host = opts.host ?? '127.0.0.1'
  const ingressIp = reachableAddress(host)
  const saved: Record<string, number> =
    opts.portStateFile && existsSync(opts.portStateFile)
      ? JSON.parse(readFileSync(opts.portStateFile, 'utf8'))
      : {}
  const listeners = new Map<string, { server: Server; port: number }>() // "ns/name/portIndex"
  const pending = new Set<string>()

  const save = () => {
    if (opts.portStateFile) writeFileSync(opts.portStateFile, JSON.stringify(saved))
  }

  function handler(ns: string, svc: string, portName: string | undefined) {
    return (client: Socket) => {
      const b = pickBackend(readyBackends(store.get(RES.endpoints, ns, svc), portName))
      if (!b) {
        client.resetAndDestroy()
        return
      }
      const upstream = connect({ host: b.host, port: b.port })
      client.pipe(upstream).pipe(client)
      const close = () => {
        client.destroy()
        upstream.destroy()
      }
      client.on('error', close)
      upstream.on('error', () => client.resetAndDestroy())
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
    }
  }

  async function listen(
    key: string,
    wanted: number | undefined,
    onConn: ReturnType<typeof handler>,
  ): Promise<{ server: Server; port: number }> {
    for (const candidate of [wanted, 0]) {
      if (candidate === undefined) continue
      const server = createServer(onConn)
      const ok = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false))
        server.listen(candidate, host, () => resolve(true))
      })
      if (ok) {
        const addr = server.address()
        return { server, port: typeof addr === 'object' && addr ? addr.port : 0 }
      }
    }
    throw new Error(`no port for ${key}`)
  }

  async function reconcile(): Promise<void> {
    const services = store.list(RES.services).items
    const live = new Set<string>()
    for (const svc of services) {
      const s = svc.spec as { type?: string; ports?: { name?: string; port: number; nodePort?: number }[] }
      if (s.type !== 'LoadBalancer' && s.type !== 'NodePort') continue
      const ns = svc.metadata.namespace ?? 'default'
      const ports = s.ports ?? []
      const assigned: number[] = []
      for (let i = 0; i < ports.length; i++) {
        const key = `${ns}/${svc.metadata.name}/${i}`
        live.add(key)
        let l = listeners.get(key)
        if (!l && !pending.has(key)) {
          pending.add(key)
          try {
            l = await listen(
              key,
              ports[i].nodePort ?? saved[key],
              handler(ns, svc.metadata.name, ports[i].name),
            )
            listeners.set(key, l)
            saved[key] = l.port
            save()
          } finally {
            pending.delete(key)
          }
        }
        if (l) assigned.push(l.port)
      }
      if (assigned.length !== ports.length) continue
      const fresh = store.get(RES.services, ns, svc.metadata.name)
      if (!fresh) continue
      const fs = fresh.spec as typeof s
      if ((fs.ports ?? []).some((p, i) => p.nodePort !== assigned[i])) {
        store.update(RES.services, {
          ...fresh,
          metadata: { ...fresh.metadata, resourceVersion: undefined },
          spec: {
            ...(fresh.spec as object),
            ports: (fs.ports ?? []).map((p, i) => ({ ...p, nodePort: assigned[i] })),
          },
        })
      }
      if (s.type === 'LoadBalancer') {
        const cur = store.get(RES.services, ns, svc.metadata.name)
        const status = {
          loadBalancer: {
            ingress: [
              {
                ip: ingressIp,
                ipMode: 'VIP',
                ports: assigned.map((port, i) => ({
                  port,
                  protocol: (ports[i] as { protocol?: string }).protocol ?? 'TCP',
                })),
              },
            ],
          },
        }
        if (cur && JSON.stringify(cur.status) !== JSON.stringify(status))
          store.updateStatus(RES.services, {
            ...cur,
            metadata: { ...cur.metadata, resourceVersion: undefined },
            status,
          })
      }
    }
    for (const [key, l] of listeners) {
      if (!live.has(key)) {
        l.server.close()
        listeners.delete(key)
      }
    }
  }

  let running = Promise.resolve()
  let again = false
  const kick = () => {
    if (again) return
    again = true
    running = running.then(async () => {
      again = false
      try {
        await reconcile()
      } catch (err) {
        process.stderr.write(`service proxy: ${String(err)}\n`)
      }
    })
  }
  const watch: Watch = store.watch(RES.services, {}, kick)
  kick()
  return {
    async stop() {
      watch.stop()
      await running
      for (const l of listeners.values()) l.server.close()
      listeners.clear()
    },
  }
}
