import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Docker from 'dockerode'
import { pack } from 'tar-stream'
import { crossCompile } from '../build/go-build.js'
import { parsePlatform } from '../build/oci-image.js'
import { UnreachableError, UsageError } from '../errors.js'
import { packageRoot } from '../package-root.js'
import type { Progress } from '../ports.js'
import { silentProgress } from '../ports.js'

export interface DockerBuildOptions {
  source: string
  version: string
  repo: string
  platform: string
  cacheDir: string
  /** Docker Engine socket (default: DOCKER_HOST or /var/run/docker.sock). */
  socketPath?: string
  dockerfile: string
  progress?: Progress
}

interface ProgressEvent {
  stream?: string
  error?: string
  errorDetail?: { message?: string }
  aux?: { Digest?: string }
  status?: string
}

/**
 * `--builder docker`: builds templates/Dockerfile (FROM scratch + the cross-compiled binary,
 * so it works offline) through the Docker Engine API for the platform asked, then pushes it
 * through the daemon. Returns `repo:version@digest`.
 */
export async function dockerBuildAndPush(o: DockerBuildOptions): Promise<{ image: string; digest: string }> {
  const progress = o.progress ?? silentProgress
  const platform = parsePlatform(o.platform)
  if (!platform)
    throw new UsageError(`unknown platform "${o.platform}"`, { hint: 'e.g. --platform linux/arm64' })
  const socketPath =
    o.socketPath ?? process.env.DOCKER_HOST?.replace(/^unix:\/\//, '') ?? '/var/run/docker.sock'
  const docker = new Docker({ socketPath })
  try {
    await docker.ping()
  } catch (err) {
    throw new UnreachableError(
      `the Docker daemon at ${socketPath} does not answer: ${(err as Error).message}`,
      {
        hint: 'start dockerd, set DOCKER_HOST, or use the default native builder (no daemon needed)',
      },
    )
  }
  const bin = await crossCompile({ source: o.source, version: o.version, platform, cacheDir: o.cacheDir })
  const ctx = pack()
  ctx.entry({ name: 'Dockerfile', mode: 0o644 }, readFileSync(o.dockerfile))
  ctx.entry({ name: 'app', mode: 0o755 }, readFileSync(bin.binary))
  ctx.finalize()
  const tag = `${o.repo}:${o.version}`
  const step = progress.step(`docker build ${tag} (${o.platform})`)
  const build = await docker.buildImage(ctx as unknown as NodeJS.ReadableStream, {
    t: tag,
    platform: o.platform,
  })
  await follow(docker, build)
  step.done()
  const push = progress.step(`docker push ${tag}`)
  const stream = await docker.getImage(tag).push({ tag: o.version })
  const events = await follow(docker, stream)
  const digest = events
    .map((e) => e.aux?.Digest ?? /digest: (sha256:[0-9a-f]{64})/.exec(e.status ?? '')?.[1])
    .find(Boolean)
  if (!digest) throw new Error(`docker push ${tag} reported no digest`)
  push.done(digest)
  return { image: `${tag}@${digest}`, digest }
}

function follow(docker: Docker, stream: NodeJS.ReadableStream): Promise<ProgressEvent[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, events: ProgressEvent[]) => {
      if (err) return reject(err)
      const failed = events.find((e) => e.error)
      if (failed)
        return reject(
          new UsageError(`docker: ${failed.errorDetail?.message ?? failed.error}`, {
            hint: 'see the Docker daemon log',
          }),
        )
      resolve(events)
    })
  })
}

/** templates/Dockerfile of the installed package. */
export function packagedDockerfile(): string {
  return join(packageRoot(), 'templates', 'Dockerfile')
}
