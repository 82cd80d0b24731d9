import { kubeletObservation, type ProbeObservation, readinessVerdict } from '../core/readiness-evidence.js'
import type { Pod } from '../ports.js'
import { cond, GATE } from './objects.js'
import type { ReleaseView } from './watches.js'

/**
 * Readiness failures of starting canary pods as evidence: the kubelet's `Unhealthy` events
 * (from the release's watches) and edgecanary's own /health and /version probes through the
 * pod proxy, judged by readinessVerdict (src/core/readiness-evidence.ts).
 */
export class StartingPods {
  constructor(
    private readonly o: {
      view: ReleaseView
      ask(pod: Pod, path: string): Promise<{ status: number; body: string }>
      /** The version the canary must answer. */
      target: string
      /** The warm-up allowance for a pod. */
      warmupMs(pod: Pod): number
      /** The release's clock (ms since the epoch). */
      now(): number
    },
  ) {}

  /** What each starting canary pod answered edgecanary's own probes, by pod name. */
  private readonly answers = new Map<string, ProbeObservation[]>()
  /** When this process first saw each canary pod's container running. */
  private readonly runningSince = new Map<string, number>()
  /** Pods with a probe of edgecanary's under way, and when the last one started. */
  private readonly probing = new Map<string, number>()

  /**
   * Readiness failures as evidence: for each canary pod whose container runs but is not yet
   * past the gate, the kubelet's `Unhealthy` events (watched) and edgecanary's own /health and
   * /version probes through the pod proxy (every 500 ms, in the background) go to
   * readinessVerdict; persistent failure past the warm-up, or a wrong version, rolls back now
   * with a reason naming the endpoint and the answer, instead of at the readiness deadline.
   */
  judge(pods: Pod[]): { reason: string; firstFailureAt: number } | undefined {
    const now = this.o.now()
    for (const pod of pods) {
      const name = pod.metadata.name
      if (!pod.status?.containerStatuses?.[0]?.state?.running || cond(pod, GATE)) continue
      const since = this.runningSince.get(name) ?? now
      this.runningSince.set(name, since)
      if (!cond(pod, 'ContainersReady')) this.probeInBackground(pod)
      const path = pod.spec.containers[0]?.readinessProbe?.httpGet?.path ?? '/health'
      const observations = [
        ...this.o.view
          .unhealthyOf(name)
          .map((e) => kubeletObservation(e.message, e.at, path))
          .filter((o): o is ProbeObservation => o !== undefined),
        ...(this.answers.get(name) ?? []),
      ]
      const reason = readinessVerdict({
        pod: name,
        target: this.o.target,
        startedAt: since,
        now,
        warmupMs: this.o.warmupMs(pod),
        minFailures: 3,
        observations,
      })
      if (reason) {
        const firstBad = observations.filter((o) => o.at >= since && (o.refused || o.status !== 200))
        return { reason, firstFailureAt: firstBad.length > 0 ? Math.min(...firstBad.map((o) => o.at)) : now }
      }
    }
    return undefined
  }

  private probeInBackground(pod: Pod): void {
    const name = pod.metadata.name
    const last = this.probing.get(name)
    if (last !== undefined && (last < 0 || this.o.now() - last < 500)) return
    this.probing.set(name, -1)
    const started = this.o.now()
    const one = (path: string) =>
      this.o
        .ask(pod, path)
        .catch((err: Error) => ({ status: 0, body: err.message }))
        .then((r): ProbeObservation => {
          const refused =
            r.status === 0 || (r.status === 503 && /connection refused|ECONNREFUSED/i.test(r.body))
          return {
            at: this.o.now(),
            source: 'edgecanary',
            endpoint: path,
            ...(refused && /refused/i.test(r.body) ? { refused: true } : {}),
            ...(refused ? {} : { status: r.status }),
            ...(path === '/version' && r.status === 200 ? { version: r.body.trim() } : {}),
          }
        })
    // a running app's version does not change: once /version has answered 200 it is not asked
    // again (each request counts for an app whose faults go by request number, FAIL_RATE)
    const answered = (this.answers.get(name) ?? []).some((o) => o.endpoint === '/version' && o.status === 200)
    void Promise.all(answered ? [one('/health')] : [one('/health'), one('/version')]).then((obs) => {
      const list = this.answers.get(name) ?? []
      list.push(...obs)
      if (list.length > 200) list.splice(0, list.length - 200)
      this.answers.set(name, list)
      this.probing.set(name, started)
      this.o.view.poke()
    })
  }
}
