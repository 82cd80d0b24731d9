import { createHash } from 'node:crypto'
import { UsageError } from '../errors.js'
import type { Cluster } from '../ports.js'
import { RegistryClient } from '../registry/client.js'
import { dockerCredentials } from '../registry/docker-credentials.js'
import { parseImageRef } from '../registry/reference.js'
import { pinImageRef } from '../registry/resolve.js'

/** What the preflight asks of the cluster; read on its own, so it can run beside the build. */
export interface ClusterFacts {
  autoscaled: Awaited<ReturnType<Cluster['autoscaledDeployments']>>
  nodeArchs: string[]
}

export async function readClusterFacts(cluster: Cluster, namespace: string): Promise<ClusterFacts> {
  const [autoscaled, nodeArchs] = await Promise.all([
    cluster.autoscaledDeployments(namespace),
    cluster.nodeArchitectures(),
  ])
  return { autoscaled, nodeArchs }
}

/**
 * Checks before anything changes: no HorizontalPodAutoscaler scales the app, the image exists in its registry (a manifest HEAD/GET) and
 * has a platform for every node architecture in the cluster. Failures are exit 2. Returns the
 * image pinned to the digest that was checked (`repo:tag@sha256:…`): that is what gets deployed,
 * never the mutable tag alone.
 */
export async function preflight(
  cluster: Cluster,
  o: { image: string; insecure?: boolean; namespace: string; app: string },
  facts: Promise<ClusterFacts> = readClusterFacts(cluster, o.namespace),
): Promise<{ image: string; platforms: string[]; nodeArchs: string[] }> {
  const { autoscaled, nodeArchs } = await facts
  // an autoscaler would fight the replica counts that make the traffic split
  const fights = autoscaled.filter((h) => h.deployment === o.app || h.deployment === `${o.app}-canary`)
  if (fights.length > 0) {
    throw new UsageError(
      `HorizontalPodAutoscaler ${fights[0].hpa} scales Deployment ${fights[0].deployment}; it would fight the canary's replica ratio`,
      {
        hint: `remove or suspend it for the release (kubectl delete hpa ${fights[0].hpa} -n ${o.namespace})`,
      },
    )
  }
  const ref = parseImageRef(o.image)
  const client = new RegistryClient({
    registry: ref.registry,
    repository: ref.repository,
    insecure: o.insecure,
    credentials: await dockerCredentials(ref.registry),
    retries: 1,
  })
  const m = await client.getManifest(ref.digest ?? ref.tag ?? 'latest')
  if (!m)
    throw new UsageError(`image ${o.image} is not in the registry`, {
      hint: 'build and push it first (edgecanary build), or check the tag',
    })
  const doc = JSON.parse(m.bytes.toString('utf8')) as {
    manifests?: { platform?: { architecture: string } }[]
    config?: { digest: string }
  }
  let platforms: string[]
  if (doc.manifests) platforms = doc.manifests.map((x) => x.platform?.architecture ?? 'unknown')
  else {
    const cfg = JSON.parse((await client.getBlob(doc.config?.digest ?? '')).toString('utf8')) as {
      architecture: string
    }
    platforms = [cfg.architecture]
  }
  const missing = nodeArchs.filter((a) => !platforms.includes(a))
  if (missing.length > 0) {
    throw new UsageError(
      `image ${o.image} is built for ${platforms.join(', ')} but the nodes are ${nodeArchs.join(', ')}`,
      {
        hint: `build for the nodes: edgecanary build --platform ${nodeArchs.map((a) => (a === 'arm' ? 'linux/arm/v7' : `linux/${a}`)).join(',')}`,
      },
    )
  }
  const digest = m.digest ?? `sha256:${createHash('sha256').update(m.bytes).digest('hex')}`
  return { image: pinImageRef(o.image, digest), platforms, nodeArchs }
}
