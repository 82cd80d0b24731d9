import { UsageError } from '../errors.js'
import type { Cluster, Service } from '../ports.js'

/**
 * The URL users reach a LoadBalancer Service at, built the same way on the sandbox and on
 * k3s ServiceLB: `status.loadBalancer.ingress[0]` address, and its published port when given
 * (sandbox), else `spec.ports[0].port` (ServiceLB).
 *
 *   serviceUrl({ spec: { ports: [{ port: 80 }] }, status: { loadBalancer: { ingress: [{ ip: '10.0.0.10' }] } } }) → 'http://10.0.0.10:80'
 */
export function serviceUrl(svc: Service): string | undefined {
  const ingress = svc.status?.loadBalancer?.ingress?.[0]
  const host = ingress?.ip ?? ingress?.hostname
  if (!host) return undefined
  const port = ingress?.ports?.[0]?.port ?? svc.spec.ports?.[0]?.port ?? 80
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}

export async function externalUrl(cluster: Cluster, ns: string, name: string): Promise<string> {
  const svc = await cluster.getService(ns, name)
  if (!svc)
    throw new UsageError(`Service ${ns}/${name} not found`, { hint: 'run `edgecanary init`, or pass --url' })
  const url = serviceUrl(svc)
  if (!url)
    throw new UsageError(`Service ${ns}/${name} has no external address yet`, {
      hint: 'wait for the LoadBalancer (kubectl get svc), or pass --url',
    })
  return url
}
