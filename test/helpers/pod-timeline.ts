import { watchApi } from './api-watch.js'

/** When this client saw each pod reach a state, in ms of performance.now(). */
export interface PodTimes {
  name: string
  track?: string
  added: number
  running?: number
  /** The same moment as `running`, in ms since the epoch (to compare with times the engine records). */
  runningAt?: number
  containersReady?: number
}

interface PodEvent {
  type: string
  object: {
    metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string }
    status?: {
      conditions?: { type: string; status: string }[]
      containerStatuses?: { state?: { running?: object } }[]
    }
  }
}

/**
 * Watches a namespace's pods over the sandbox's HTTPS API (its kubeconfig's CA and token), as
 * `kubectl get pods -w` does, and notes when each pod was first seen, first seen running, and
 * first seen ContainersReady. A client's view: each time includes the watch's delivery, a
 * millisecond or two on loopback.
 */
export function watchPodTimes(kubeconfig: string, ns: string): { pods: Map<string, PodTimes>; stop(): void } {
  const pods = new Map<string, PodTimes>()
  const watch = watchApi<PodEvent>(kubeconfig, `/api/v1/namespaces/${ns}/pods?watch=true`, note)
  function note(ev: PodEvent): void {
    const now = performance.now()
    const p = ev.object
    if (ev.type === 'DELETED' || p.metadata.deletionTimestamp) return
    const t = pods.get(p.metadata.name) ?? {
      name: p.metadata.name,
      track: p.metadata.labels?.track,
      added: now,
    }
    pods.set(p.metadata.name, t)
    if (t.running === undefined && p.status?.containerStatuses?.[0]?.state?.running) {
      t.running = now
      t.runningAt = Date.now()
    }
    if (
      t.containersReady === undefined &&
      p.status?.conditions?.some((c) => c.type === 'ContainersReady' && c.status === 'True')
    )
      t.containersReady = now
  }
  return { pods, stop: () => watch.stop() }
}

/**
 * Of a wave of new pods that a release waits for, the time only the kubelet stood between the
 * last container running and the last pod ContainersReady (its PLEG relist, then the readiness
 * probe). Undefined when a pod of the wave never got there.
 *
 *   kubeletWait([{ running: 100, containersReady: 900 }, { running: 150, containersReady: 905 }]) → 755
 */
export function kubeletWait(wave: Pick<PodTimes, 'running' | 'containersReady'>[]): number | undefined {
  if (wave.length === 0 || wave.some((p) => p.running === undefined || p.containersReady === undefined))
    return undefined
  const lastRunning = Math.max(...wave.map((p) => p.running ?? 0))
  const lastReady = Math.max(...wave.map((p) => p.containersReady ?? 0))
  return Math.max(0, lastReady - lastRunning)
}
