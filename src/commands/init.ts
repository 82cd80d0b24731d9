import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Flags } from '@oclif/core'
import { BaseCommand, clusterFlags, configFlag } from '../base-command.js'
import { runBootstrap, runUninstall } from '../bootstrap/service.js'
import { bootstrapFlags, setupBootstrap } from '../cli/bootstrap.js'
import { resolveContext } from '../cli/context.js'
import { ensureLaptopRegistry } from '../cli/laptop-registry.js'
import { loadConfig } from '../config.js'
import { validateConfig } from '../core/config.js'
import { ConfigError, UsageError } from '../errors.js'
import { configYaml, type InitResult, runInit, runTeardown } from '../init/service.js'
import { withProgress } from '../progress.js'
import { edgecanaryHome } from '../sandbox/paths.js'

export default class Init extends BaseCommand {
  static override description =
    `Write edgecanary.yaml, build and push the first version, and deploy it (Namespace, stable Deployment, LoadBalancer Service); idempotent.

With --hosts, first turn Raspberry Pis reachable over SSH into a k3s cluster: preflight on every host in parallel (arch, OS, memory, disk, clock skew, unique hostnames, ports 6443/10250, cgroup flags in /boot/firmware/cmdline.txt), k3s server on the first host and agents on the others in parallel (join token made on the laptop, never printed), /etc/rancher/k3s/registries.yaml so the nodes trust the registry, the server's kubeconfig merged as context "edgecanary" (mode 0600), all nodes Ready. Host keys are checked against ~/.ssh/known_hosts. A second run changes nothing.`
  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init --version 1.0 --replicas 4 -n production',
    '<%= config.bin %> init --version 1.0 --json',
    '<%= config.bin %> init --registry registry.lan:5000 --context pi-cluster',
    '<%= config.bin %> init --image 127.0.0.1:5000/kubeapp:1.0 --dry-run',
    '<%= config.bin %> init --teardown',
    '<%= config.bin %> init --hosts pi@10.0.0.10,pi@10.0.0.11,pi@10.0.0.12 --registry laptop --accept-new-host-keys',
    '<%= config.bin %> init --hosts pi-a,pi-b --registry registry.lan:5000 --fix-cgroups --k3s-version v1.32.3+k3s1',
    '<%= config.bin %> init --hosts pi@10.0.0.10 --k3s-binary ./k3s-arm64 --k3s-install-script ./install.sh --dry-run',
    'echo "$SUDO_PASS" | <%= config.bin %> init --hosts pi@10.0.0.10 --sudo-password-stdin --registry laptop',
    '<%= config.bin %> init --uninstall --hosts pi@10.0.0.10,pi@10.0.0.11',
  ]
  static override flags = {
    ...clusterFlags,
    ...configFlag,
    app: Flags.string({ description: 'app name (Deployment, Service and label app=)', default: undefined }),
    version: Flags.string({ description: 'first version to deploy', default: '1.0' }),
    replicas: Flags.integer({ description: 'pods of the app', min: 1, max: 100 }),
    registry: Flags.string({
      description:
        'registry HOST:PORT (default: the one the cluster advertises, e.g. the sandbox); with --hosts also `laptop`: serve the embedded registry on this laptop’s LAN address for the nodes',
    }),
    image: Flags.string({ description: 'deploy this image instead of building (REF, ideally by digest)' }),
    source: Flags.string({ description: 'Go source of the app', default: 'sample-app' }),
    'dry-run': Flags.boolean({ description: 'print the manifests; change nothing' }),
    teardown: Flags.boolean({ description: 'remove what init created' }),
    ...bootstrapFlags,
  }

  async run(): Promise<InitResult | object> {
    const { flags } = await this.parse(Init)
    let registry = flags.registry === 'laptop' ? undefined : flags.registry
    let insecure: boolean | undefined
    let bootstrap: object | undefined
    if (flags.uninstall && !flags.hosts) {
      throw new UsageError('--uninstall needs --hosts', {
        hint: 'e.g. init --uninstall --hosts pi@10.0.0.10',
      })
    }
    if (flags.registry === 'laptop' && !flags.hosts) {
      throw new UsageError('--registry laptop is for --hosts', { hint: 'pass --registry HOST:PORT' })
    }
    if (flags.hosts) {
      const setup = await setupBootstrap(flags)
      if (!flags.uninstall && !flags.registry && !flags.image && !loadConfig(flags.config).config.registry) {
        // A new k3s cluster advertises no registry: say so before touching any host.
        throw new UsageError('init --hosts needs a registry the nodes can pull from', {
          hint: 'pass --registry HOST:PORT (your registry) or --registry laptop (serve one from this machine)',
        })
      }
      if (flags.uninstall) {
        return withProgress('uninstall k3s', { json: this.jsonEnabled() }, (p) =>
          runUninstall(setup.deps, p, setup),
        )
      }
      if (flags['dry-run']) {
        const plan = setup.plan()
        if (!this.jsonEnabled()) process.stdout.write(`${plan.join('\n')}\n`)
        return { plan }
      }
      const boot = await withProgress(
        `k3s on ${setup.targets.length} host(s)`,
        { json: this.jsonEnabled() },
        (p) =>
          runBootstrap(setup.deps, p, {
            ...setup,
            registry:
              setup.registry === 'laptop'
                ? { laptop: (lan) => ensureLaptopRegistry(lan, join(this.config.root, 'bin', 'run.js')) }
                : setup.registry,
            fixCgroups: flags['fix-cgroups'],
          }),
      )
      this.info(
        `k3s ${boot.changed ? 'ready' : 'already in place'}: ${boot.nodes.length} node(s) Ready, context ${boot.context} in ${boot.kubeconfig}`,
      )
      flags.context = boot.context
      if (boot.registry) {
        registry = boot.registry
        insecure = flags.registry === 'laptop' || flags['registry-http']
      }
      bootstrap = boot
    }
    const ctx = await resolveContext(flags, { app: flags.app })
    const merged = validateConfig({
      ...ctx.config,
      ...(flags.replicas ? { replicas: flags.replicas } : {}),
      ...(registry ? { registry, repository: `${registry}/${ctx.config.app}` } : {}),
      ...(insecure ? { insecure } : {}),
      source: flags.source,
    })
    if (!merged.ok) throw new ConfigError(merged.problems[0], { hint: 'check the flags and edgecanary.yaml' })
    if (flags.teardown) {
      const r = await runTeardown(ctx.cluster, merged.config)
      this.info(r.removed.length ? `removed ${r.removed.join(', ')}` : 'nothing to remove')
      return r
    }
    const result = await withProgress(
      `init ${merged.config.app} ${flags.version}`,
      { json: this.jsonEnabled() },
      (progress) =>
        runInit(ctx.cluster, progress, {
          config: merged.config,
          version: flags.version,
          image: flags.image,
          source: flags.source,
          cacheDir: join(edgecanaryHome(), 'cache'),
          dryRun: flags['dry-run'],
        }),
    )
    if (flags['dry-run']) {
      if (!this.jsonEnabled()) process.stdout.write(result.manifests ?? '')
      return result
    }
    if (bootstrap) Object.assign(result, { bootstrap })
    writeFileSync(flags.config, configYaml(result.config))
    this.info(`${result.app} ${flags.version} is Ready in namespace ${result.namespace}: ${result.image}`)
    if (result.url) this.info(`Service URL: ${result.url}   (try: curl ${result.url}/version)`)
    this.info(`wrote ${flags.config}`)
    return result
  }
}
