import { mkdtempSync, rmSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pullImage } from '../../src/registry/pull.js'
import { type EmbeddedRegistry, startRegistry } from '../../src/registry/server.js'
import { versionOfPulledApp } from '../helpers/arm64-app.js'
import { runCli } from '../helpers/cli.js'
import { startDockerd } from '../helpers/dockerd.js'
import { repoRoot } from '../helpers/sandbox.js'

// --builder docker: templates/Dockerfile through the Docker Engine API (dockerode), pushed by
// the daemon; the image pulled back runs under qemu-user.
describe('edgecanary build --builder docker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ec-dockerb-'))
  let dockerd: { socket: string; stop(): Promise<void> }
  let registry: EmbeddedRegistry

  beforeAll(async () => {
    dockerd = await startDockerd(dir)
    registry = await startRegistry({ dir: join(dir, 'registry') })
  })
  afterAll(async () => {
    await dockerd?.stop()
    await registry?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('builds for linux/arm64 through the daemon and pushes an image that runs', async () => {
    const repo = `127.0.0.1:${registry.port}/kubeapp`
    const env = {
      ...process.env,
      DOCKER_HOST: `unix://${dockerd.socket}`,
      EDGECANARY_HOME: join(dir, 'home'),
      GOCACHE: process.env.GOCACHE ?? join(homedir(), '.cache', 'go-build'),
      CI: 'true',
    }
    const r = await runCli(
      [
        'build',
        '--builder',
        'docker',
        '--version',
        '2.0',
        '--repo',
        repo,
        '--source',
        join(repoRoot, 'sample-app'),
        '--json',
      ],
      { env, timeoutMs: 300_000 },
    )
    expect(r.status, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as { image: string; digest: string }
    expect(out.image).toBe(`${repo}:2.0@${out.digest}`)
    const pulled = await pullImage(`${repo}:2.0`, {
      platform: { os: 'linux', architecture: 'arm64' },
      cacheDir: join(dir, 'pull'),
    })
    expect(pulled.platform.architecture).toBe('arm64')
    expect(pulled.config.Entrypoint).toEqual(['/app'])
    const body = await versionOfPulledApp(pulled.rootfs)
    expect(body).toBe('2.0\n')
  })

  it('a daemon that does not answer is exit 2 with a hint', async () => {
    const r = await runCli(
      [
        'build',
        '--builder',
        'docker',
        '--version',
        '2.0',
        '--repo',
        `127.0.0.1:${registry.port}/kubeapp`,
        '--source',
        join(repoRoot, 'sample-app'),
      ],
      {
        env: {
          ...process.env,
          DOCKER_HOST: `unix://${join(dir, 'nope.sock')}`,
          EDGECANARY_HOME: join(dir, 'home'),
          CI: 'true',
        },
      },
    )
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('does not answer')
  })
})
