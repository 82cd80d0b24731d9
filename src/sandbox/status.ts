import { apiJson, readState, runningPid } from './lifecycle.js'
import type { SandboxPaths } from './paths.js'

export interface SandboxStatus {
  running: boolean
  pid?: number
  apiUrl?: string
  registry?: string
  nodes: { name: string; ready: boolean; arch: string }[]
  pods: { namespace: string; name: string; phase: string; ready: boolean; node?: string }[]
}

interface ListOf<T> {
  items?: T[]
}
interface NodeJson {
  metadata: { name: string; labels?: Record<string, string> }
  status?: { conditions?: { type: string; status: string }[] }
}
interface PodJson {
  metadata: { name: string; namespace: string }
  spec?: { nodeName?: string }
  status?: { phase?: string; conditions?: { type: string; status: string }[] }
}

/** Reads the sandbox's pid/state files and asks its API for nodes and pods. */
export async function sandboxStatus(paths: SandboxPaths): Promise<SandboxStatus> {
  const pid = runningPid(paths)
  const state = pid === undefined ? undefined : readState(paths)
  if (pid === undefined || !state) return { running: false, nodes: [], pods: [] }
  const nodes = await apiJson(paths, state, 'GET', '/api/v1/nodes')
  const pods = await apiJson(paths, state, 'GET', '/api/v1/pods')
  const cond = (c: { type: string; status: string }[] | undefined, type: string) =>
    c?.some((x) => x.type === type && x.status === 'True') ?? false
  return {
    running: true,
    pid,
    apiUrl: state.apiUrl,
    registry: state.registry,
    nodes: ((nodes.json as ListOf<NodeJson>).items ?? []).map((n) => ({
      name: n.metadata.name,
      ready: cond(n.status?.conditions, 'Ready'),
      arch: n.metadata.labels?.['kubernetes.io/arch'] ?? '?',
    })),
    pods: ((pods.json as ListOf<PodJson>).items ?? []).map((p) => ({
      namespace: p.metadata.namespace,
      name: p.metadata.name,
      phase: p.status?.phase ?? 'Pending',
      ready: cond(p.status?.conditions, 'Ready'),
      node: p.spec?.nodeName,
    })),
  }
}
