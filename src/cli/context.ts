import { connectCluster } from '../adapters/kube-cluster.js'
import { loadConfig } from '../config.js'
import { type Config, dnsLabel } from '../core/config.js'
import { pickNamespace } from '../core/namespace.js'
import { UsageError } from '../errors.js'
import type { Cluster } from '../ports.js'
import { sandboxStoppedError } from './sandbox-stopped.js'

export interface ContextFlags {
  kubeconfig?: string
  context?: string
  namespace?: string
  config: string
}

/**
 * Config, cluster and namespace for a command. Namespace precedence (`pickNamespace`): flag >
 * edgecanary.yaml > the kubeconfig context's namespace > the app's release found by labels
 * across namespaces (one: use it; several: exit 2 naming them) > the config default.
 * `init` passes `useContextNamespace: false`: it creates the app, and the design has it
 * default to `production` as the seed walk-through does, whatever the context says.
 */
export async function resolveContext(
  flags: ContextFlags,
  opts: {
    app?: string
    findRelease?: boolean
    useContextNamespace?: boolean
    configMayBeAbsent?: boolean
  } = {},
) {
  assertName('--app', opts.app)
  assertName('-n', flags.namespace)
  const { config, found } = loadConfig(flags.config, opts.configMayBeAbsent ? { required: false } : {})
  const app = opts.app ?? config.app
  let cluster: Cluster
  try {
    cluster = connectCluster({ kubeconfig: flags.kubeconfig, context: flags.context })
  } catch (err) {
    throw sandboxStoppedError(err)
  }
  const decided = {
    flag: flags.namespace,
    config: found ? config.namespace : undefined,
    context: (opts.useContextNamespace ?? opts.findRelease) ? cluster.contextNamespace : undefined,
    fallback: config.namespace,
  }
  let labels: string[] | undefined
  if (!decided.flag && !decided.config && !decided.context && opts.findRelease) {
    await cluster.ping()
    const ds = await cluster.listDeployments(`app=${app},track=stable`)
    labels = ds.map((d) => d.metadata.namespace ?? 'default')
  }
  const pick = pickNamespace({ ...decided, labels })
  if ('ambiguous' in pick) {
    throw new UsageError(`${app} is deployed in several namespaces: ${pick.ambiguous.join(', ')}`, {
      hint: `pass -n NAMESPACE (one of ${pick.ambiguous.join(', ')})`,
    })
  }
  const cfg: Config = { ...config, app, namespace: pick.namespace }
  return { config: cfg, configFound: found, cluster, namespace: cfg.namespace, app }
}

/**
 * `--app` and `-n` name Kubernetes objects: a DNS-1123 label, checked by the config's schema
 * before any request (the API would answer NotFound or find "no releases of  in …").
 */
export function assertName(flag: string, value: string | undefined): void {
  if (value === undefined || dnsLabel.safeParse(value).success) return
  throw new UsageError(`${flag} "${value.slice(0, 100)}" is not a valid Kubernetes name`, {
    hint: 'use at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit, e.g. kubeapp',
  })
}
