import { join } from 'node:path'
import { Flags } from '@oclif/core'
import { BaseCommand, clusterFlags, configFlag } from '../base-command.js'
import { platformsForCluster } from '../build/cluster-platforms.js'
import { type BuildResult, buildAndPush } from '../build/index.js'
import { buildRepository } from '../cli/build-repository.js'
import { buildSource } from '../cli/source.js'
import { loadConfig } from '../config.js'
import { UsageError } from '../errors.js'
import { withProgress } from '../progress.js'
import { readPasswordStdin } from '../read-stdin.js'
import { edgecanaryHome } from '../sandbox/paths.js'

export default class Build extends BaseCommand {
  static override description =
    "Cross-compile the Go app for the cluster's architectures (ARM64 by default; no Docker daemon, no emulation), assemble a reproducible OCI image (an index for several platforms) and push it"
  static override examples = [
    '<%= config.bin %> build --version 2.0 --repo 127.0.0.1:5000/kubeapp',
    '<%= config.bin %> build --version 2.0 --platform linux/arm64,linux/arm/v7,linux/amd64',
    '# no --platform and no platforms: in edgecanary.yaml: one image for each architecture the nodes have',
    '<%= config.bin %> build --version 2.0 --context edgecanary-sandbox',
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
    platform: Flags.string({
      description:
        "platform(s), comma-separated; default: platforms: in edgecanary.yaml, else the architectures of the cluster's schedulable nodes (a multi-platform index for a mixed cluster), else linux/arm64",
    }),
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
    const source = buildSource(flags.source, config.source)
    if (source.note) this.info(source.note)
    if (flags.builder === 'docker') {
      // dockerode is loaded only for this builder, to keep the native path's start fast
      const { dockerBuildAndPush, packagedDockerfile } = await import('../adapters/docker-builder.js')
      const r = await withProgress(
        `docker build ${flags.version}`,
        { json: this.jsonEnabled() },
        (progress) =>
          dockerBuildAndPush({
            source: source.dir,
            version: flags.version,
            repo,
            platform: flags.platform ?? config.platforms?.[0] ?? 'linux/arm64',
            cacheDir: join(edgecanaryHome(), 'cache'),
            dockerfile: packagedDockerfile(),
            progress,
          }),
      )
      this.info(r.image)
      return {
        ...r,
        platforms: [flags.platform ?? config.platforms?.[0] ?? 'linux/arm64'],
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
    const platforms = await buildPlatforms(flags, config.platforms)
    this.info(platforms.note)
    const result = await withProgress(`build ${flags.version}`, { json: this.jsonEnabled() }, (progress) =>
      buildAndPush({
        source: source.dir,
        version: flags.version,
        repo,
        platforms: platforms.platforms,
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

/**
 * --platform, else `platforms:`, else the schedulable nodes' architectures of the cluster the
 * kubeconfig points at; a build with no cluster to ask (CI) builds linux/arm64 and says so.
 */
async function buildPlatforms(
  flags: { platform?: string; kubeconfig?: string; context?: string },
  configured: string[] | undefined,
): Promise<{ platforms: string[]; note: string }> {
  if (flags.platform) return { platforms: [flags.platform], note: `platforms ${flags.platform} (--platform)` }
  if (configured?.length)
    return {
      platforms: configured,
      note: `platforms ${configured.join(', ')} (platforms: in edgecanary.yaml)`,
    }
  try {
    // loaded only when asked, as for the repository: a build with --platform needs no cluster
    const { connectCluster } = await import('../adapters/kube-cluster.js')
    return await platformsForCluster(
      connectCluster({ kubeconfig: flags.kubeconfig, context: flags.context }),
      undefined,
      '--platform',
    )
  } catch (err) {
    const why = (err as Error).message.split('\n')[0]
    return {
      platforms: ['linux/arm64'],
      note: `platforms linux/arm64 (the cluster could not be asked for its nodes: ${why}; --platform to choose)`,
    }
  }
}
