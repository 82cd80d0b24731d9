import { stringify } from 'yaml'
import { platformsForCluster } from '../build/cluster-platforms.js'
import { buildAndPush } from '../build/index.js'
import type { Config } from '../core/config.js'
import { fastFailReason } from '../core/fast-fail.js'
import { podViewOf } from '../core/pod-view.js'
import { PodsCannotRun, UsageError } from '../errors.js'
import type { Cluster, Progress } from '../ports.js'
import { assertValidVersion, parseImageRef } from '../registry/reference.js'
import { resolveImageDigest } from '../registry/resolve.js'
import { canaryName } from '../release/engine.js'
import { leaseName } from '../release/lock.js'
import { preflight } from '../release/preflight.js'
import { externalUrl } from '../release/service-url.js'
import { historyName } from '../release/state.js'
import { appNamespace, appService, stableDeployment } from './manifests.js'

export interface InitOptions {
  config: Config
  version: string
  image?: string
  source: string
  cacheDir: string
  dryRun: boolean
  /** `--platform` (comma-separated); wins over `platforms:` in the config, else the nodes decide. */
  platform?: string
  /** Skip the image/arch checks (tests of the fast-fail: a wrong-architecture image is deployed as given). */
  skipPreflight?: boolean
}

export interface InitResult {
  app: string
  namespace: string
  image: string
  url?: string
  registry?: string
  namespaceCreated: boolean
  manifests?: string
  /** The platforms built (absent with --image). */
  platforms?: string[]
  config: Config
}

/** The registry a cluster advertises in `kube-public/local-registry-hosting` (KEP-1755), as kind and k3d do. */
export async function discoverRegistry(cluster: Cluster): Promise<string | undefined> {
  const cm = await cluster.getConfigMap('kube-public', 'local-registry-hosting')
  const text = cm?.data?.['localRegistryHosting.v1']
  const m = text ? /host:\s*"?([^"\s]+)"?/.exec(text) : null
  return m?.[1]
}

/**
 * `init` for an existing cluster: resolves the registry, builds and pushes the first version
 * (unless --image), applies Namespace, stable Deployment and LoadBalancer Service, waits until
 * every pod is Ready and returns the Service URL. Idempotent: a second run updates in place.
 */
export async function runInit(cluster: Cluster, progress: Progress, o: InitOptions): Promise<InitResult> {
  assertValidVersion(o.version)
  if (o.image) parseImageRef(o.image)
  const cfg = { ...o.config }
  const ns = cfg.namespace
  await cluster.ping()
  if (!o.image && !cfg.repository) {
    const registry = cfg.registry ?? (await discoverRegistry(cluster))
    if (!registry) {
      throw new UsageError('no registry known for this cluster', {
        hint: 'pass --registry HOST:PORT (or --image REF); the sandbox advertises its own in kube-public/local-registry-hosting',
      })
    }
    cfg.registry = registry
    cfg.repository = `${registry}/${cfg.app}`
  }
  const preview = stableDeployment({
    app: cfg.app,
    namespace: ns,
    image: o.image ?? `${cfg.repository}:${o.version}@sha256:…`,
    replicas: cfg.replicas,
  })
  if (o.dryRun) {
    const manifests = [
      appNamespace(ns),
      preview,
      { apiVersion: 'v1', kind: 'Service', ...appService({ app: cfg.app, namespace: ns }) },
    ]
      .map((m) => stringify(m))
      .join('---\n')
    return {
      app: cfg.app,
      namespace: ns,
      image: preview.spec.template.spec.containers[0].image,
      namespaceCreated: false,
      manifests,
      config: cfg,
      registry: cfg.registry,
    }
  }
  let image = o.image
  let platforms: string[] | undefined
  if (image && !o.skipPreflight) {
    // deploy by digest, never by a mutable tag alone: pin what the registry holds now, after
    // checking it has a platform for every node architecture (exit 2, nothing applied)
    image = (await preflight(cluster, { image, insecure: cfg.insecure, namespace: ns, app: cfg.app })).image
  } else if (image) {
    const pinned = await resolveImageDigest(image, { insecure: cfg.insecure }).catch(() => undefined)
    if (!pinned) progress.note(`--skip-preflight: ${image} is not in the registry; deploying it as given`)
    image = pinned ?? image
  } else {
    // platforms: --platform, else edgecanary.yaml, else the schedulable nodes' architectures;
    // a list that leaves out a node is refused here, before anything is built or applied
    const chosen = await platformsForCluster(
      cluster,
      o.platform ? [o.platform] : cfg.platforms,
      o.platform ? '--platform' : 'platforms: in edgecanary.yaml',
    )
    progress.note(chosen.note)
    platforms = chosen.platforms
    const b = await buildAndPush({
      source: o.source,
      version: o.version,
      repo: cfg.repository ?? '',
      platforms: chosen.platforms,
      cacheDir: o.cacheDir,
      insecure: cfg.insecure,
      progress,
    })
    image = b.image
  }
  const h = progress.step(
    `apply Namespace ${ns}, Deployment ${cfg.app} (${cfg.replicas} pods), Service ${cfg.app}`,
  )
  const namespaceCreated = await cluster.ensureNamespace(ns, appNamespace(ns).metadata.labels)
  const existing = await cluster.getDeployment(ns, cfg.app)
  const want = stableDeployment({ app: cfg.app, namespace: ns, image, replicas: cfg.replicas })
  if (existing) {
    // keep what a release recorded (state annotation) and the labels' history
    want.metadata.annotations = { ...existing.metadata.annotations }
  }
  await cluster.applyDeployment(ns, want)
  await cluster.applyService(ns, appService({ app: cfg.app, namespace: ns }))
  h.done()
  const w = progress.step(`wait until ${cfg.replicas} pods are Ready`)
  const deadline = Date.now() + 120_000
  let lastReady: number | undefined = -1
  for (;;) {
    const d = await cluster.getDeployment(ns, cfg.app)
    const st = d?.status ?? {}
    if (
      d &&
      (st.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
      st.updatedReplicas === cfg.replicas &&
      st.availableReplicas === cfg.replicas &&
      (st.replicas ?? 0) === cfg.replicas
    )
      break
    // pods that can never run fail init at once, named with their node, by the release
    // engine's own rules; pods of an earlier template (another image) do not count
    const pods = (await cluster.listPods(ns, `app=${cfg.app},track=stable`)).filter(
      (p) => !p.metadata.deletionTimestamp && p.spec.containers.some((c) => c.image === image),
    )
    const reason = fastFailReason(pods.map(podViewOf))
    if (reason) {
      w.fail(reason)
      throw new PodsCannotRun(`${cfg.app} cannot run: ${reason}`, {
        hint: `${/exec format error/.test(reason) ? "build for the nodes' architectures (leave platforms: unset, or add theirs), then " : 'fix it, then '}run init again: it updates the Deployment in place (kubectl describe pod -n ${ns} -l app=${cfg.app})`,
        details: { reason },
      })
    }
    if (Date.now() > deadline) {
      w.fail('not Ready in 120 s')
      throw new UsageError(`Deployment ${ns}/${cfg.app} did not become Ready in 120 s`, {
        hint: `kubectl get pods -n ${ns}; kubectl describe deploy ${cfg.app} -n ${ns}`,
      })
    }
    if (st.readyReplicas !== lastReady) w.update(`${st.readyReplicas ?? 0}/${cfg.replicas} ready`)
    lastReady = st.readyReplicas
    await new Promise((r) => setTimeout(r, 200))
  }
  w.done()
  let url: string | undefined
  for (let i = 0; i < 50 && !url; i++) {
    url = await externalUrl(cluster, ns, cfg.app).catch(() => undefined)
    if (!url) await new Promise((r) => setTimeout(r, 200))
  }
  return {
    app: cfg.app,
    namespace: ns,
    image,
    url,
    registry: cfg.registry,
    namespaceCreated,
    ...(platforms ? { platforms } : {}),
    config: cfg,
  }
}

/**
 * Removes what `init` and releases created: the stable and canary Deployments (their pods go
 * with them), the Service, the Lease and the history ConfigMap. The namespace stays: it may hold
 * other things (`kubectl delete namespace NS` removes it).
 */
export async function runTeardown(cluster: Cluster, cfg: Config): Promise<{ removed: string[] }> {
  const ns = cfg.namespace
  const removed: string[] = []
  await cluster.ping()
  for (const name of [cfg.app, canaryName(cfg.app)]) {
    if (await cluster.getDeployment(ns, name)) {
      await cluster.deleteDeployment(ns, name)
      removed.push(`deployment/${name}`)
    }
  }
  if (await cluster.getService(ns, cfg.app)) {
    await cluster.deleteService(ns, cfg.app)
    removed.push(`service/${cfg.app}`)
  }
  await cluster.deleteLease(ns, leaseName(cfg.app))
  if (await cluster.getConfigMap(ns, historyName(cfg.app))) {
    await cluster.deleteConfigMap(ns, historyName(cfg.app))
    removed.push(`configmap/${historyName(cfg.app)}`)
  }
  return { removed }
}

export function configYaml(cfg: Config): string {
  return `# edgecanary configuration (see README.md)\n${stringify(cfg)}`
}
