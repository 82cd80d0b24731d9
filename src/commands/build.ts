import { join } from 'node:path'
import { Flags } from '@oclif/core'
import { BaseCommand, clusterFlags, configFlag } from '../base-command.js'
import { type BuildResult, buildAndPush } from '../build/index.js'
import { buildRepository } from '../cli/build-repository.js'
import { loadConfig } from '../config.js'
import { UsageError } from '../errors.js'
import { withProgress } from '../progress.js'
import { readPasswordStdin } from '../read-stdin.js'
import { edgecanaryHome } from '../sandbox/paths.js'

export default class Build extends BaseCommand {
  static override description =
    'Cross-compile the Go app for ARM64 (no Docker daemon, no emulation), assemble a reproducible OCI image and push it'
  static override examples = [
    '<%= config.bin %> build --version 2.0 --repo 127.0.0.1:5000/kubeapp',
    '<%= config.bin %> build --version 2.0 --platform linux/arm64,linux/arm/v7,linux/amd64',
    '# push to the registry the cluster advertises (e.g. the sandbox), and print the result as JSON',
    '<%= config.bin %> build --version 2.0 --context edgecanary-sandbox --json',
    'echo "$PASS" | <%= config.bin %> build --version 2.0 --repo reg.lan:5000/kubeapp --username ci --password-stdin',
  ]
  static override flags = {
    ...configFlag,
    kubeconfig: clusterFlags.kubeconfig,
    context: clusterFlags.context,
    version: Flags.string({ description: 'version, also the image tag', default: 'dev' }),
    source: Flags.string({
      description: 'Go module with the main package (default: from config, else sample-app)',
    }),
    repo: Flags.string({
      description:
        'image repository HOST[:PORT]/NAME (default: from edgecanary.yaml, else the registry the cluster advertises in kube-public/local-registry-hosting + app)',
    }),
    platform: Flags.string({ description: 'platform(s), comma-separated', default: 'linux/arm64' }),
    builder: Flags.string({
      description: 'native (in-process, default) or docker (Dockerfile via the Engine API)',
      options: ['native', 'docker'],
      default: 'native',
    }),
    insecure: Flags.boolean({ description: 'allow plain HTTP to a registry that is not on loopback' }),
    username: Flags.string({
      description:
        'registry user (default: as docker finds it: $DOCKER_CONFIG or ~/.docker/config.json, credHelpers, credsStore, auths)',
    }),
    'password-stdin': Flags.boolean({ description: 'read the registry password from stdin' }),
  }

  async run(): Promise<BuildResult> {
    const { flags } = await this.parse(Build)
    const { config } = loadConfig(flags.config)
    const repo = await buildRepository(flags, config)
    if (flags.builder === 'docker') {
      // dockerode is loaded only for this builder, to keep the native path's start fast
      const { dockerBuildAndPush, packagedDockerfile } = await import('../adapters/docker-builder.js')
      const r = await withProgress(
        `docker build ${flags.version}`,
        { json: this.jsonEnabled() },
        (progress) =>
          dockerBuildAndPush({
            source: flags.source ?? config.source,
            version: flags.version,
            repo,
            platform: flags.platform,
            cacheDir: join(edgecanaryHome(), 'cache'),
            dockerfile: packagedDockerfile(),
            progress,
          }),
      )
      this.info(r.image)
      return {
        ...r,
        platforms: [flags.platform],
        compressedSize: 0,
        blobsUploaded: 0,
        blobsSkipped: 0,
        compiled: 0,
        cached: 0,
      }
    }
    const password = flags['password-stdin'] ? await readPasswordStdin() : undefined
    if (flags['password-stdin'] && !flags.username) {
      throw new UsageError('--password-stdin needs --username', {
        hint: 'e.g. --username ci --password-stdin',
      })
    }
    const result = await withProgress(`build ${flags.version}`, { json: this.jsonEnabled() }, (progress) =>
      buildAndPush({
        source: flags.source ?? config.source,
        version: flags.version,
        repo,
        platforms: [flags.platform],
        cacheDir: join(edgecanaryHome(), 'cache'),
        insecure: flags.insecure || config.insecure,
        credentials:
          flags.username && password !== undefined ? { username: flags.username, password } : undefined,
        progress,
      }),
    )
    this.info(`${result.image}`)
    this.info(
      `platforms ${result.platforms.join(', ')}; ${(result.compressedSize / 1024 / 1024).toFixed(2)} MiB compressed; ${result.blobsUploaded} blob(s) uploaded, ${result.blobsSkipped} skipped`,
    )
    return result
  }
}
