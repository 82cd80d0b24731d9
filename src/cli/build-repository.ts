import type { Config } from '../core/config.js'
import { UsageError } from '../errors.js'
import { sandboxStoppedError } from './sandbox-stopped.js'

/**
 * The image repository `build` pushes to: --repo, else edgecanary.yaml (`repository`, or
 * `registry` + app), else the registry the cluster advertises in
 * `kube-public/local-registry-hosting` (the sandbox, kind, k3d) + app.
 */
export async function buildRepository(
  flags: { repo?: string; kubeconfig?: string; context?: string },
  config: Config,
): Promise<string> {
  if (flags.repo) return flags.repo
  if (config.repository) return config.repository
  if (config.registry) return `${config.registry}/${config.app}`
  let registry: string | undefined
  let why = 'the cluster advertises no registry in kube-public/local-registry-hosting'
  try {
    // Loaded only when asked: the cluster adapter (client-node's KubeConfig) is not needed
    // when the repository is given.
    const [{ connectCluster }, { discoverRegistry }] = await Promise.all([
      import('../adapters/kube-cluster.js'),
      import('../init/service.js'),
    ])
    registry = await discoverRegistry(
      connectCluster({ kubeconfig: flags.kubeconfig, context: flags.context }),
    )
  } catch (err) {
    const said = sandboxStoppedError(err)
    why =
      said !== err
        ? 'the sandbox is stopped (`edgecanary sandbox up` starts it)'
        : `the cluster could not be asked for its registry (${(err as Error).message.split('\n')[0]})`
  }
  if (!registry) {
    throw new UsageError(`no image repository given, and ${why}`, {
      hint: 'pass --repo HOST[:PORT]/NAME, run `edgecanary init` to write one into edgecanary.yaml, or point --kubeconfig/--context at a cluster that advertises its registry (the sandbox does)',
    })
  }
  return `${registry}/${config.app}`
}
