import { hostname } from 'node:os'
import { EdgecanaryError, UnreachableError } from '../errors.js'
import { discoverRegistry } from '../init/service.js'
import type { Cluster } from '../ports.js'
import { dockerConfigCredentials } from '../registry/auth.js'
import { RegistryClient } from '../registry/client.js'
import { holderGone, leaseName, pidAlive } from '../release/lock.js'
import { FINAL_PHASES, type ReleaseState, readState } from '../release/state.js'
import { type ClusterRecord, readClusterRecord } from './record.js'

/** One cluster of the fleet: its kubeconfig context, namespace and (if configured) registry. */
export interface FleetTarget {
  context: string
  namespace: string
  registry?: string
}

/** A cluster that passed the fleet preflight. */
export interface ReadyCluster {
  target: FleetTarget
  cluster: Cluster
  /** HOST[:PORT] the image is pushed to for this cluster. */
  registry: string
  /** The app's release state there (the stable Deployment's annotation). */
  state?: ReleaseState
  /** The fleet ConfigMap there, if any. */
  record?: ClusterRecord
}

export type Checked =
  | { kind: 'ready'; ready: ReadyCluster }
  | { kind: 'unreachable'; context: string; reason: string }
  | { kind: 'refused'; context: string; reason: string; hint?: string }
  | { kind: 'locked'; context: string; holder: string }

/**
 * How long the preflight waits for a cluster's API (each of two attempts): a cluster that is
 * down is named at once instead of costing the adapter's retries (about 5 s).
 */
export const PREFLIGHT_PING_MS = 3000

/**
 * The fleet preflight of one cluster, before anything changes anywhere: the API answers
 * (quickly: PREFLIGHT_PING_MS), the app's stable Deployment is there, no release of another
 * version is under way, no live process holds the app's Lease (`locked`), a registry is
 * known (the fleet entry's, else the one the cluster advertises in
 * kube-public/local-registry-hosting, else edgecanary.yaml's) and answers.
 */
export async function checkCluster(
  target: FleetTarget,
  o: {
    connect: (context: string) => Cluster
    app: string
    version: string
    registry?: string
    insecure?: boolean
  },
): Promise<Checked> {
  const { context } = target
  try {
    const cluster = o.connect(context)
    await cluster.ping({ timeoutMs: PREFLIGHT_PING_MS })
    const stable = await cluster.getDeployment(target.namespace, o.app)
    if (!stable)
      return {
        kind: 'refused',
        context,
        reason: `Deployment ${target.namespace}/${o.app} not found`,
        hint: 'run `edgecanary init --context CONTEXT` there first, or set its namespace in fleet:',
      }
    const state = readState(stable)
    if (state && !FINAL_PHASES.includes(state.phase) && state.version !== o.version)
      return {
        kind: 'refused',
        context,
        reason: `a release of ${o.app} ${state.version} is in phase ${state.phase}`,
        hint: `finish it first: edgecanary abort --context ${context}`,
      }
    // another release (a single-cluster one, another fleet) holds this cluster's Lease
    const lease = await cluster.getLease(target.namespace, leaseName(o.app))
    if (lease && !holderGone(lease.spec, Date.now(), hostname(), pidAlive))
      return { kind: 'locked', context, holder: lease.spec.holderIdentity ?? 'another process' }
    const registry = target.registry ?? (await discoverRegistry(cluster)) ?? o.registry
    if (!registry)
      return {
        kind: 'refused',
        context,
        reason: 'no registry known for this cluster',
        hint: 'set registry: for it under fleet: in edgecanary.yaml',
      }
    const client = new RegistryClient({
      registry,
      repository: o.app,
      insecure: o.insecure,
      credentials: dockerConfigCredentials(registry),
      retries: 1,
    })
    try {
      await client.headManifest('latest')
    } catch (err) {
      if (err instanceof UnreachableError || !(err instanceof EdgecanaryError))
        return { kind: 'unreachable', context, reason: `its registry ${registry} does not answer` }
      throw err
    }
    const record = await readClusterRecord(cluster, target.namespace, o.app).catch(() => undefined)
    return { kind: 'ready', ready: { target, cluster, registry, state, record } }
  } catch (err) {
    if (err instanceof UnreachableError)
      return { kind: 'unreachable', context, reason: err.message.split('\n')[0] }
    if (err instanceof EdgecanaryError)
      return { kind: 'refused', context, reason: err.message.split('\n')[0], hint: err.hint }
    throw err
  }
}
