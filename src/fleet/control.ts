import type { Config } from '../core/config.js'
import { type ClusterOutcome, clusterOutcome } from '../core/fleet-plan.js'
import { EdgecanaryError, ReleaseFailed } from '../errors.js'
import type { Cluster, Progress } from '../ports.js'
import { requestControl } from '../release/control.js'
import { FINAL_PHASES, readState } from '../release/state.js'
import { releaseStatus } from '../release/status.js'
import { type FleetTarget, PREFLIGHT_PING_MS } from './preflight.js'
import {
  type ClusterRecord,
  readClusterRecord,
  readLocalRecord,
  writeClusterRecord,
  writeLocalRecord,
} from './record.js'

export interface FleetStatusRow {
  cluster: string
  namespace: string
  /** The cluster's place in the fleet: done, running (in progress), untouched, failed, aborted; `unreachable`. */
  fleet: ClusterOutcome | 'unreachable'
  wave?: number
  phase: string
  step?: string
  version?: string
  holder?: string
  reason?: string
}

export interface FleetStatus {
  app: string
  /** The fleet release the clusters (or the local record) know of. */
  fleet?: { id: string; version: string; phase: string; waves: string[][]; startedAt: string }
  clusters: FleetStatusRow[]
}

/** The newest fleet record among those read (local file, cluster ConfigMaps). */
function newest(records: (Omit<ClusterRecord, 'context' | 'entry'> | undefined)[]) {
  return records
    .filter((r) => r !== undefined)
    .sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0))[0]
}

/**
 * `status --contexts`: each cluster's release (phase, step, version) and its place in the
 * fleet, from cluster state (its fleet ConfigMap and release annotation) and the local record.
 */
export async function fleetStatus(
  targets: FleetTarget[],
  o: { connect: (context: string) => Cluster; app: string; home: string },
): Promise<FleetStatus> {
  const read = await Promise.all(
    targets.map(async (t) => {
      try {
        const cluster = o.connect(t.context)
        await cluster.ping({ timeoutMs: PREFLIGHT_PING_MS })
        const [st, rec, stable] = await Promise.all([
          releaseStatus(cluster, t.namespace, o.app),
          readClusterRecord(cluster, t.namespace, o.app).catch(() => undefined),
          cluster.getDeployment(t.namespace, o.app),
        ])
        return { t, st, rec, state: readState(stable) }
      } catch (err) {
        if (err instanceof EdgecanaryError) return { t, error: err.message.split('\n')[0] }
        throw err
      }
    }),
  )
  const local = readLocalRecord(o.home, o.app)
  const fleet = newest([local, ...read.map((r) => r.rec)])
  const clusters = read.map((r): FleetStatusRow => {
    if (!('st' in r) || !r.st)
      return {
        cluster: r.t.context,
        namespace: r.t.namespace,
        fleet: 'unreachable',
        phase: 'Unreachable',
        reason: r.error,
      }
    const entry =
      (r.rec?.id === fleet?.id ? r.rec?.entry : undefined) ??
      (local?.id === fleet?.id ? local?.clusters[r.t.context] : undefined)
    const outcome: ClusterOutcome = !fleet
      ? 'untouched'
      : entry?.outcome === 'skipped' && r.state?.version !== fleet.version
        ? 'skipped'
        : clusterOutcome(fleet.version, r.state, entry?.outcome)
    return {
      cluster: r.t.context,
      namespace: r.t.namespace,
      fleet: outcome,
      ...(entry ? { wave: entry.wave + 1 } : {}),
      phase: r.st.phase,
      ...(r.st.step ? { step: r.st.step } : {}),
      ...(r.st.version ? { version: r.st.version } : {}),
      ...(r.st.holder ? { holder: r.st.holder } : {}),
      ...(entry?.reason || r.st.reason ? { reason: entry?.reason ?? r.st.reason } : {}),
    }
  })
  return {
    app: o.app,
    ...(fleet
      ? {
          fleet: {
            id: fleet.id,
            version: fleet.version,
            phase: fleet.phase,
            waves: fleet.waves,
            startedAt: fleet.startedAt,
          },
        }
      : {}),
    clusters,
  }
}

export interface FleetAbortRow {
  cluster: string
  action:
    | 'rolled back'
    | 'asked the running release to abort'
    | 'will not start'
    | 'nothing to abort'
    | 'unreachable'
  reason?: string
}

/**
 * `abort --contexts`: stops the fleet. Every cluster's fleet record is marked so that no
 * cluster starts any more; a cluster whose release is under way is rolled back (by the live
 * release process, asked through the request annotation, or here when that process is gone).
 */
export async function fleetAbort(
  targets: FleetTarget[],
  o: { connect: (context: string) => Cluster; app: string; home: string; config: Config; progress: Progress },
): Promise<{ app: string; clusters: FleetAbortRow[] }> {
  const local = readLocalRecord(o.home, o.app)
  const rows = await Promise.all(
    targets.map(async (t): Promise<FleetAbortRow> => {
      let cluster: Cluster
      try {
        cluster = o.connect(t.context)
        await cluster.ping({ timeoutMs: PREFLIGHT_PING_MS })
      } catch (err) {
        if (err instanceof EdgecanaryError)
          return { cluster: t.context, action: 'unreachable', reason: err.message.split('\n')[0] }
        throw err
      }
      const rec = await readClusterRecord(cluster, t.namespace, o.app).catch(() => undefined)
      if (rec && rec.phase === 'Progressing')
        await writeClusterRecord(cluster, t.namespace, {
          ...rec,
          entry: { ...rec.entry, abortRequested: true },
        })
      const s = readState(await cluster.getDeployment(t.namespace, o.app))
      if (!s || FINAL_PHASES.includes(s.phase))
        return {
          cluster: t.context,
          action:
            rec?.phase === 'Progressing' && rec.entry.outcome === 'untouched'
              ? 'will not start'
              : 'nothing to abort',
        }
      try {
        const r = await requestControl(cluster, o.progress, {
          ns: t.namespace,
          config: { ...o.config, app: o.app },
          request: 'abort',
        })
        return {
          cluster: t.context,
          action: r.delegated ? 'asked the running release to abort' : 'rolled back',
        }
      } catch (err) {
        if (err instanceof ReleaseFailed)
          return { cluster: t.context, action: 'rolled back', reason: err.message }
        throw err
      }
    }),
  )
  if (local && local.phase === 'Progressing') {
    for (const row of rows) {
      const e = local.clusters[row.cluster]
      if (e && row.action === 'rolled back') {
        e.outcome = 'aborted'
        e.reason = 'aborted (edgecanary abort)'
      }
    }
    local.phase = 'Aborted'
    local.updatedAt = new Date().toISOString()
    writeLocalRecord(o.home, local)
  }
  return { app: o.app, clusters: rows }
}
