import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ClusterOutcome, FleetPhase } from '../core/fleet-plan.js'
import type { Cluster } from '../ports.js'

/**
 * The fleet record: which clusters are done, in progress or untouched. The whole record lives
 * in a local file under EDGECANARY_HOME (`fleets/<app>.json`); each cluster keeps the plan and
 * its own entry in the ConfigMap `edgecanary-<app>-fleet` beside the app, so that `status` and
 * `abort --contexts` work from any machine, and a resume trusts what each cluster says.
 */
export interface FleetRecord {
  /** One fleet run (a resume keeps it; a new attempt gets a new one). */
  id: string
  app: string
  version: string
  /** The digest every cluster gets. */
  digest?: string
  waves: string[][]
  phase: FleetPhase
  clusters: Record<string, ClusterEntry>
  startedAt: string
  updatedAt: string
}

export interface ClusterEntry {
  namespace: string
  wave: number
  outcome: ClusterOutcome
  reason?: string
  /** `edgecanary abort --contexts` asked this fleet to stop. */
  abortRequested?: boolean
}

/** What one cluster's ConfigMap holds: the plan and that cluster's own entry. */
export interface ClusterRecord extends Omit<FleetRecord, 'clusters'> {
  context: string
  entry: ClusterEntry
}

const MAX_RECORD_BYTES = 256 * 1024

export const fleetConfigMapName = (app: string) => `edgecanary-${app}-fleet`

export function localRecordPath(home: string, app: string): string {
  return join(home, 'fleets', `${app}.json`)
}

export function readLocalRecord(home: string, app: string): FleetRecord | undefined {
  const file = localRecordPath(home, app)
  if (!existsSync(file)) return undefined
  const text = readFileSync(file, 'utf8')
  return text.length <= MAX_RECORD_BYTES ? parseRecord<FleetRecord>(text, 'clusters') : undefined
}

/** Written whole and renamed into place (0600): a killed process leaves the old or the new record. */
export function writeLocalRecord(home: string, r: FleetRecord): void {
  const file = localRecordPath(home, r.app)
  mkdirSync(join(home, 'fleets'), { recursive: true, mode: 0o700 })
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(r, null, 2)}\n`, { mode: 0o600 })
  renameSync(tmp, file)
}

export async function readClusterRecord(
  cluster: Cluster,
  ns: string,
  app: string,
): Promise<ClusterRecord | undefined> {
  const cm = await cluster.getConfigMap(ns, fleetConfigMapName(app))
  const text = cm?.data?.fleet
  return text && text.length <= MAX_RECORD_BYTES ? parseRecord<ClusterRecord>(text, 'entry') : undefined
}

export async function writeClusterRecord(cluster: Cluster, ns: string, r: ClusterRecord): Promise<void> {
  await cluster.applyConfigMap(ns, {
    metadata: {
      name: fleetConfigMapName(r.app),
      labels: { 'app.kubernetes.io/managed-by': 'edgecanary', app: r.app },
    },
    data: { fleet: JSON.stringify(r) },
  })
}

/** The part of the record one cluster keeps. */
export function clusterRecordOf(r: FleetRecord, context: string): ClusterRecord {
  const { clusters, ...plan } = r
  return { ...plan, context, entry: clusters[context] }
}

/** A record read back from a file or ConfigMap anyone could edit: shape-checked, else ignored. */
function parseRecord<T>(text: string, field: 'clusters' | 'entry'): T | undefined {
  try {
    const v = JSON.parse(text) as Record<string, unknown>
    const ok =
      typeof v.id === 'string' &&
      typeof v.app === 'string' &&
      typeof v.version === 'string' &&
      typeof v.phase === 'string' &&
      Array.isArray(v.waves) &&
      v.waves.every((w) => Array.isArray(w) && w.every((c) => typeof c === 'string')) &&
      typeof v[field] === 'object' &&
      v[field] !== null
    return ok ? (v as T) : undefined
  } catch {
    return undefined
  }
}
