import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Flags } from '@oclif/core'
import { BaseCommand, clusterFlags, configFlag } from '../base-command.js'
import { resolveContext } from '../cli/context.js'
import { validateConfig } from '../core/config.js'
import { ConfigError } from '../errors.js'
import { configYaml, type InitResult, runInit, runTeardown } from '../init/service.js'
import { withProgress } from '../progress.js'
import { edgecanaryHome } from '../sandbox/paths.js'

export default class Init extends BaseCommand {
  static override description =
    'Write edgecanary.yaml, build and push the first version, and deploy it (Namespace, stable Deployment, LoadBalancer Service); idempotent'
  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init --version 1.0 --replicas 4 -n production',
    '<%= config.bin %> init --registry registry.lan:5000 --context pi-cluster',
    '<%= config.bin %> init --image 127.0.0.1:5000/kubeapp:1.0 --dry-run',
    '<%= config.bin %> init --teardown',
  ]
  static override flags = {
    ...clusterFlags,
    ...configFlag,
    app: Flags.string({ description: 'app name (Deployment, Service and label app=)', default: undefined }),
    version: Flags.string({ description: 'first version to deploy', default: '1.0' }),
    replicas: Flags.integer({ description: 'pods of the app', min: 1, max: 100 }),
    registry: Flags.string({
      description: 'registry HOST:PORT (default: the one the cluster advertises, e.g. the sandbox)',
    }),
    image: Flags.string({ description: 'deploy this image instead of building (REF, ideally by digest)' }),
    source: Flags.string({ description: 'Go source of the app', default: 'sample-app' }),
    'dry-run': Flags.boolean({ description: 'print the manifests; change nothing' }),
    teardown: Flags.boolean({ description: 'remove what init created' }),
  }

  async run(): Promise<InitResult | { removed: string[] }> {
    const { flags } = await this.parse(Init)
    const ctx = await resolveContext(flags, { app: flags.app })
    const merged = validateConfig({
      ...ctx.config,
      ...(flags.replicas ? { replicas: flags.replicas } : {}),
      ...(flags.registry
        ? { registry: flags.registry, repository: `${flags.registry}/${ctx.config.app}` }
        : {}),
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
    writeFileSync(flags.config, configYaml(result.config))
    this.info(`${result.app} ${flags.version} is Ready in namespace ${result.namespace}: ${result.image}`)
    if (result.url) this.info(`Service URL: ${result.url}   (try: curl ${result.url}/version)`)
    this.info(`wrote ${flags.config}`)
    return result
  }
}
