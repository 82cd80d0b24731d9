import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Flags } from '@oclif/core'
import { BaseCommand, clusterFlags, configFlag } from '../base-command.js'
import { runBootstrap, runUninstall } from '../bootstrap/service.js'
import { bootstrapFlags, setupBootstrap } from '../cli/bootstrap.js'
import { assertName, resolveContext } from '../cli/context.js'
import { ensureLaptopRegistry } from '../cli/laptop-registry.js'
import { buildSource } from '../cli/source.js'
import { loadConfig } from '../config.js'
import { validateConfig } from '../core/config.js'
import { ConfigError, UsageError } from '../errors.js'
import { configYaml, type InitResult, runInit, runTeardown } from '../init/service.js'
import { withProgress } from '../progress.js'
import { parseImageRef } from '../registry/reference.js'
import { edgecanaryHome } from '../sandbox/paths.js'

export default class Init extends BaseCommand {
  static override description =
    `Write edgecanary.yaml, build and push the first version, and deploy it (Namespace, stable Deployment, LoadBalancer Service); idempotent.

With --hosts, first turn Raspberry Pis reachable over SSH into a k3s cluster: preflight on every host in parallel (arch, OS, memory, disk, clock skew, unique hostnames, ports 6443/10250, cgroup flags in /boot/firmware/cmdline.txt), k3s server on the first host and agents on the others in parallel (join token made on the laptop, never printed), /etc/rancher/k3s/registries.yaml so the nodes trust the registry, the server's kubeconfig merged as context "edgecanary" (mode 0600), all nodes Ready. Host keys are checked against ~/.ssh/known_hosts. A second run changes nothing.`
  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init --version 1.0 --replicas 4 -n production',
    '<%= config.bin %> init --version 1.0 --json',
    "# a mixed Pi cluster: builds for the nodes' architectures when edgecanary.yaml sets no platforms:",
    '<%= config.bin %> init --version 1.0 --platform linux/arm64,linux/arm/v7',
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
    source: Flags.string({
      description:
        'Go source of the app (default: ./sample-app, else the sample app shipped inside edgecanary, which says so)',
    }),
    platform: Flags.string({
      description:
        "platform(s) to build, comma-separated (e.g. linux/arm64,linux/arm/v7); default: platforms: in edgecanary.yaml, else the architectures of the cluster's schedulable nodes. One that leaves out a node's architecture is refused (exit 2) before anything is applied",
      exclusive: ['image'],
    }),
    'skip-preflight': Flags.boolean({
      description:
        'deploy --image without checking its architectures against the nodes (tests of the fast-fail use it: pods that cannot run are named and init exits 1)',
    }),
    'dry-run': Flags.boolean({
      description:
        'print the manifests; change nothing (with --hosts: connect and run the read-only preflight, then print the plan)',
    }),
    teardown: Flags.boolean({ description: 'remove what init created' }),
    ...bootstrapFlags,
  }

  async run(): Promise<InitResult | object> {
    const { flags } = await this.parse(Init)
    let registry = flags.registry === 'laptop' ? undefined : flags.registry
    let insecure: boolean | undefined
    let bootstrap: object | undefined
    assertName('--app', flags.app)
    assertName('-n', flags.namespace)
    if (flags.image !== undefined) parseImageRef(flags.image)
    if (flags.uninstall && flags.hosts === undefined) {
      throw new UsageError('--uninstall needs --hosts', {
        hint: 'e.g. init --uninstall --hosts pi@10.0.0.10',
      })
    }
    if (flags.registry === 'laptop' && flags.hosts === undefined) {
      throw new UsageError('--registry laptop is for --hosts', { hint: 'pass --registry HOST:PORT' })
    }
    // `--hosts ''` is a mistake (an unset variable), not a plain init: resolveHosts refuses it
    if (flags.hosts !== undefined) {
      const setup = await setupBootstrap(flags)
      if (
        !flags.uninstall &&
        !flags.registry &&
        !flags.image &&
        !loadConfig(flags.config, { required: false }).config.registry
      ) {
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
        // connects and runs the read-only preflight (host keys, facts, the table) first
        const checked = await withProgress(
          `preflight on ${setup.targets.length} host(s), changing nothing`,
          { json: this.jsonEnabled() },
          (p) =>
            runBootstrap(setup.deps, p, {
              ...setup,
              registry: undefined,
              fixCgroups: flags['fix-cgroups'],
              preflightOnly: true,
            }),
        )
        const plan = setup.plan()
        if (!this.jsonEnabled()) process.stdout.write(`${plan.join('\n')}\n`)
        return { plan, hosts: checked.hosts }
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
    const ctx = await resolveContext(flags, { app: flags.app, configMayBeAbsent: true })
    const merged = validateConfig({
      ...ctx.config,
      ...(flags.replicas ? { replicas: flags.replicas } : {}),
      ...(registry ? { registry, repository: `${registry}/${ctx.config.app}` } : {}),
      ...(insecure ? { insecure } : {}),
      source: flags.source ?? ctx.config.source,
    })
    if (!merged.ok) throw new ConfigError(merged.problems[0], { hint: 'check the flags and edgecanary.yaml' })
    if (flags.teardown) {
      const r = await runTeardown(ctx.cluster, merged.config)
      this.info(r.removed.length ? `removed ${r.removed.join(', ')}` : 'nothing to remove')
      return r
    }
    const source = buildSource(flags.source, merged.config.source)
    if (source.note && !flags.image) this.info(source.note)
    const result = await withProgress(
      `init ${merged.config.app} ${flags.version}`,
      { json: this.jsonEnabled() },
      (progress) =>
        runInit(ctx.cluster, progress, {
          config: merged.config,
          version: flags.version,
          image: flags.image,
          source: source.dir,
          cacheDir: join(edgecanaryHome(), 'cache'),
          dryRun: flags['dry-run'],
          platform: flags.platform,
          skipPreflight: flags['skip-preflight'],
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
