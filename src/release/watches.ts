import { systemClock } from '../adapters/system-clock.js'
import { UnreachableError } from '../errors.js'
import type { Clock, Cluster, Deployment, KubeEvent, Lease, Pod } from '../ports.js'

/**
 * What a release follows while it runs, kept current by watches instead of polls: the app's
 * pods (both tracks), its two Deployments, its Lease, and the kubelet's `Unhealthy` events
 * of its pods. Waits read from here and wake on the next change (`changed`), so a release
 * costs the API server a list and a watch per kind instead of ~25 requests a second.
 */
export class ReleaseView {
  private readonly pods = new Map<string, Pod>()
  private readonly deployments = new Map<string, Deployment>()
  private lease?: Lease
  /** Unhealthy events by pod name: event uid → the latest version of it (count grows). */
  private readonly unhealthy = new Map<string, Map<string, KubeEvent>>()
  private readonly waiters = new Set<() => void>()
  private readonly stops: (() => void)[] = []
  private readonly lists = new Set<string>()
  private listed?: () => void
  /** Resolves once every kind has been listed once. */
  readonly ready: Promise<void>

  constructor(
    cluster: Cluster,
    ns: string,
    private readonly app: string,
    leaseName: string,
    private readonly clock: Clock = systemClock,
  ) {
    // lists retry with backoff; an API server that does not answer a list in a minute stops the release
    this.ready = new Promise((resolve, reject) => {
      const cancel = clock.setTimeout(
        () =>
          reject(
            new UnreachableError(
              `the Kubernetes API did not list the pods, Deployments and Lease of ${app} in 60 s`,
              {
                hint: 'check the cluster (kubectl cluster-info); resume with the same `edgecanary release` command',
              },
            ),
          ),
        60_000,
      )
      this.listed = () => {
        cancel()
        resolve()
      }
    })
    this.ready.catch(() => {})
    const kinds = ['pods', 'deployments', 'leases', 'events'] as const
    const done = (k: string) => {
      this.lists.add(k)
      if (this.lists.size === kinds.length) this.listed?.()
      this.poke()
    }
    this.stops.push(
      cluster.inform(
        'pods',
        ns,
        { label: `app=${app}` },
        {
          onList: (items) => {
            this.pods.clear()
            for (const p of items) this.pods.set(p.metadata.name, p)
            done('pods')
          },
          onEvent: (type, p) => {
            if (type === 'DELETED') this.pods.delete(p.metadata.name)
            else this.pods.set(p.metadata.name, p)
            this.poke()
          },
        },
      ),
      cluster.inform(
        'deployments',
        ns,
        { label: `app=${app}` },
        {
          onList: (items) => {
            this.deployments.clear()
            for (const d of items) this.deployments.set(d.metadata.name, d)
            done('deployments')
          },
          onEvent: (type, d) => {
            if (type === 'DELETED') this.deployments.delete(d.metadata.name)
            else this.deployments.set(d.metadata.name, d)
            this.poke()
          },
        },
      ),
      cluster.inform(
        'leases',
        ns,
        { field: `metadata.name=${leaseName}` },
        {
          onList: (items) => {
            this.lease = items[0]
            done('leases')
          },
          onEvent: (type, l) => {
            this.lease = type === 'DELETED' ? undefined : l
            this.poke()
          },
        },
      ),
      cluster.inform(
        'events',
        ns,
        { field: 'reason=Unhealthy,involvedObject.kind=Pod' },
        {
          onList: (items) => {
            this.unhealthy.clear()
            for (const e of items) this.noteEvent(e)
            done('events')
          },
          onEvent: (type, e) => {
            if (type !== 'DELETED') this.noteEvent(e)
            this.poke()
          },
        },
      ),
    )
  }

  private noteEvent(e: KubeEvent): void {
    const pod = e.involvedObject?.name
    if (!pod?.startsWith(`${this.app}-`)) return
    const m = this.unhealthy.get(pod) ?? new Map<string, KubeEvent>()
    m.set(e.metadata.uid ?? e.metadata.name, e)
    this.unhealthy.set(pod, m)
  }

  /** Wakes every waiter: something changed (or a caller learned something, e.g. a probe answered). */
  poke(): void {
    for (const w of [...this.waiters]) w()
  }

  /** Resolves at the next change, or after `ms`, or when `signal` aborts. */
  changed(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        cancel()
        this.waiters.delete(wake)
        signal?.removeEventListener('abort', wake)
        resolve()
      }
      const cancel = this.clock.setTimeout(wake, ms)
      this.waiters.add(wake)
      signal?.addEventListener('abort', wake, { once: true })
    })
  }

  /** Live pods (no deletionTimestamp) of a track. */
  podsOf(track: 'stable' | 'canary'): Pod[] {
    return [...this.pods.values()].filter(
      (p) => p.metadata.labels?.track === track && !p.metadata.deletionTimestamp,
    )
  }

  deployment(name: string): Deployment | undefined {
    return this.deployments.get(name)
  }

  currentLease(): Lease | undefined {
    return this.lease
  }

  /** The kubelet's `Unhealthy` events of a pod: each occurrence (an event counted n times is n). */
  unhealthyOf(pod: string): { at: number; message: string }[] {
    const out: { at: number; message: string }[] = []
    for (const e of this.unhealthy.get(pod)?.values() ?? []) {
      const last = Date.parse(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? '')
      const first = Date.parse(e.firstTimestamp ?? e.eventTime ?? e.lastTimestamp ?? '')
      const n = Math.max(1, e.count ?? 1)
      if (!Number.isFinite(last)) continue
      // an aggregated event keeps only its first and last times: spread the occurrences between
      for (let i = 0; i < n; i++) {
        const at = n === 1 || !Number.isFinite(first) ? last : first + ((last - first) * i) / (n - 1)
        out.push({ at, message: e.message ?? '' })
      }
    }
    return out
  }

  stop(): void {
    for (const s of this.stops.splice(0)) s()
    this.poke()
  }
}
