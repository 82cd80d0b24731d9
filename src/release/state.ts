import type { StoredTimeline } from '../core/timeline.js'
import type { Cluster, ConfigMap, Deployment } from '../ports.js'
import { imageTag } from '../registry/reference.js'

export const STATE_ANNOTATION = 'edgecanary.dev/release'
export const REQUEST_ANNOTATION = 'edgecanary.dev/request'
export const APP_LABEL = 'app'

export type Phase =
  | 'Initialized'
  | 'Progressing'
  | 'Paused'
  | 'Promoting'
  | 'Finalising'
  | 'Succeeded'
  | 'RollingBack'
  | 'RolledBack'
  | 'Aborted'
  | 'Interrupted'

export const FINAL_PHASES: Phase[] = ['Succeeded', 'RolledBack', 'Aborted']

export interface ReleaseState {
  app: string
  namespace: string
  version: string
  image: string
  previousVersion?: string
  previousImage: string
  replicas: number
  steps: { weight: number; stable: number; canary: number; actualPercent: number }[]
  /** Index of the current step; -1 before the first. */
  step: number
  phase: Phase
  reason?: string
  env: Record<string, string>
  holder?: string
  startedAt: string
  updatedAt: string
  /** Replica counts changed outside edgecanary (e.g. `kubectl scale` during a pause). */
  drift?: string
  /** When the engine first saw the failure that rolled back, and when the rollback was complete (ISO). */
  timings?: { failureSeenAt?: string; rollbackDoneAt?: string }
  /** Failed analysis checks so far: the threshold counts them across steps, and across a resume. */
  failedChecks?: number
  lastAnalysis?: {
    at: string
    ok: boolean
    reason?: string
    canaryRequests: number
    canaryErrors: number
    p99Ms?: number
  }
  /** Steps, analysis intervals and events of this release, bounded (see src/core/timeline.ts). */
  timeline?: StoredTimeline
}

/** Reads the release state from the stable Deployment's annotation. */
export function readState(d: Deployment | undefined): ReleaseState | undefined {
  const raw = d?.metadata.annotations?.[STATE_ANNOTATION]
  if (!raw) return undefined
  try {
    return JSON.parse(raw) as ReleaseState
  } catch {
    return undefined
  }
}

/** The merge patch that stores the state on the stable Deployment (stamps `updatedAt` with `now`); the engine applies it through its lock's fenced patch. */
export function statePatch(s: ReleaseState, now = Date.now()): object {
  s.updatedAt = new Date(now).toISOString()
  return { metadata: { annotations: { [STATE_ANNOTATION]: JSON.stringify(s) } } }
}

export function historyName(app: string): string {
  return `edgecanary-${app}-history`
}

/**
 * Appends a finished release to the history ConfigMap, keeping the last 20. The write replaces
 * exactly the version it read, so whatever was written meanwhile (a release that took the app's
 * Lease after ours, a `kubectl edit`) is read again and kept, not overwritten; five tries.
 */
export async function appendHistory(
  cluster: Cluster,
  s: ReleaseState,
  /** The ConfigMap as read earlier: replaced first (a write in between makes that a conflict, and it is read again). */
  read?: Promise<ConfigMap | undefined>,
): Promise<void> {
  const name = historyName(s.app)
  const labels = { 'app.kubernetes.io/managed-by': 'edgecanary', [APP_LABEL]: s.app }
  for (let attempt = 1; attempt <= 5; attempt++) {
    // the early read only when it found the ConfigMap: creating one is never done on an old answer
    const early = attempt === 1 && read ? await read.catch(() => undefined) : undefined
    const cm = early ?? (await cluster.getConfigMap(s.namespace, name))
    const list = cm?.data?.releases ? (JSON.parse(cm.data.releases) as ReleaseState[]) : []
    list.push(s)
    const data = { releases: JSON.stringify(list.slice(-20)) }
    if (!cm) return cluster.applyConfigMap(s.namespace, { metadata: { name, labels }, data })
    const resourceVersion = cm.metadata.resourceVersion
    if (await cluster.replaceConfigMap(s.namespace, { metadata: { name, labels, resourceVersion }, data }))
      return
  }
  throw new Error(`history ConfigMap ${s.namespace}/${name} changed under every write (5 conflicts)`)
}

export async function readHistory(cluster: Cluster, ns: string, app: string): Promise<ReleaseState[]> {
  const cm = await cluster.getConfigMap(ns, historyName(app))
  return cm?.data?.releases ? (JSON.parse(cm.data.releases) as ReleaseState[]) : []
}

/** `r:5000/kubeapp:1.0@sha256:…` → `1.0`; a digest-only reference has no version (imageTag). */
export function versionOfImage(image: string | undefined): string | undefined {
  return image ? imageTag(image) : undefined
}
