import { connectCluster } from '../adapters/kube-cluster.js'
import { loadConfig } from '../config.js'
import type { Config } from '../core/config.js'
import { UsageError } from '../errors.js'
import type { Cluster } from '../ports.js'

export interface ContextFlags {
  kubeconfig?: string
  context?: string
  namespace?: string
  config: string
}

/**
 * Config, cluster and namespace for a command. Namespace precedence: flag > edgecanary.yaml >
 * the app's release found by labels across namespaces (one: use it; several: exit 2 naming
 * them) > the config default.
 */
export async function resolveContext(
  flags: ContextFlags,
  opts: { app?: string; findRelease?: boolean } = {},
) {
  const { config, found } = loadConfig(flags.config)
  const app = opts.app ?? config.app
  const cluster: Cluster = connectCluster({ kubeconfig: flags.kubeconfig, context: flags.context })
  let namespace = flags.namespace ?? (found ? config.namespace : undefined)
  if (!namespace && opts.findRelease) {
    await cluster.ping()
    const ds = await cluster.listDeployments(`app=${app},track=stable`)
    const namespaces = [...new Set(ds.map((d) => d.metadata.namespace ?? 'default'))]
    if (namespaces.length > 1) {
      throw new UsageError(`${app} is deployed in several namespaces: ${namespaces.join(', ')}`, {
        hint: 'pass -n NAMESPACE',
      })
    }
    namespace = namespaces[0]
  }
  const cfg: Config = { ...config, app, namespace: namespace ?? config.namespace }
  return { config: cfg, configFound: found, cluster, namespace: cfg.namespace, app }
}
