import type { Cluster } from '../ports.js'
import { type ReleaseState, readHistory, readState } from '../release/state.js'

/**
 * The release of `app` to report: the latest of `version` (or the latest of all), looking at the
 * history and at the release the stable Deployment carries now (running, interrupted, or not yet
 * in the history).
 */
export async function findRelease(
  cluster: Cluster,
  namespace: string,
  app: string,
  version?: string,
): Promise<ReleaseState | undefined> {
  const [history, stable] = await Promise.all([
    readHistory(cluster, namespace, app),
    cluster.getDeployment(namespace, app),
  ])
  const current = readState(stable)
  const all =
    current && !history.some((h) => h.startedAt === current.startedAt) ? [...history, current] : history
  return version ? all.filter((s) => s.version === version).pop() : all[all.length - 1]
}
