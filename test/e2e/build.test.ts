import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pullImage } from '../../src/registry/pull.js'
import { type EmbeddedRegistry, startRegistry } from '../../src/registry/server.js'
import { versionOfPulledApp } from '../helpers/arm64-app.js'
import { runCli } from '../helpers/cli.js'
import { freePort } from '../helpers/ports.js'
import { repoRoot } from '../helpers/sandbox.js'

// build → push to a real registry → pull back → run the arm64 binary under qemu-user.
describe('edgecanary build (native, in-process OCI image)', () => {
  const home = mkdtempSync(join(tmpdir(), 'ec-build-'))
  let registry: EmbeddedRegistry
  let repo: string
  const env = { ...process.env, EDGECANARY_HOME: home, CI: 'true' }
  const ec = (...args: string[]) => runCli(args, { env, cwd: home })
  const skopeo = async (...args: string[]) =>
    (await promisify(execFile)('skopeo', [...args.slice(0, -1), '--tls-verify=false', ...args.slice(-1)]))
      .stdout

  beforeAll(async () => {
    registry = await startRegistry({ dir: join(home, 'registry') })
    repo = `127.0.0.1:${registry.port}/kubeapp`
  })
  afterAll(async () => {
    await registry.close()
    rmSync(home, { recursive: true, force: true })
  })

  it('pushes 2.0 for linux/arm64 and the pulled binary answers /version under qemu', async () => {
    const r = await ec(
      'build',
      '--version',
      '2.0',
      '--repo',
      repo,
      '--source',
      join(repoRoot, 'sample-app'),
      '--json',
    )
    expect(r.status, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as {
      image: string
      digest: string
      platforms: string[]
      compressedSize: number
      blobsUploaded: number
    }
    expect(out.image).toBe(`${repo}:2.0@${out.digest}`)
    expect(out.platforms).toEqual(['linux/arm64'])
    expect(out.blobsUploaded).toBe(2)
    expect(out.compressedSize).toBeLessThan(3 * 1024 * 1024)

    const pulled = await pullImage(`${repo}:2.0`, {
      platform: { os: 'linux', architecture: 'arm64' },
      cacheDir: join(home, 'pull'),
    })
    expect(pulled.digest).toBe(out.digest)
    expect(pulled.platform.architecture).toBe('arm64')
    expect(pulled.config.Entrypoint).toEqual(['/app'])
    expect(pulled.config.User).toBe('65532:65532')
    const body = await versionOfPulledApp(pulled.rootfs)
    expect(body).toBe('2.0\n')

    // skopeo, an independent client, reads the same single-platform image
    const inspected = JSON.parse(await skopeo('inspect', `docker://${repo}:2.0`)) as {
      Digest: string
      Architecture: string
      Os: string
      Labels: Record<string, string>
    }
    expect(inspected.Digest).toBe(out.digest)
    expect(inspected.Architecture).toBe('arm64')
    expect(inspected.Os).toBe('linux')
    expect(inspected.Labels).toMatchObject({
      'org.opencontainers.image.version': '2.0',
      'org.opencontainers.image.title': 'kubeapp',
      // portable: the path inside the work tree, never this machine's absolute path
      'org.opencontainers.image.source': 'sample-app',
    })
    expect(inspected.Labels['org.opencontainers.image.revision']).toMatch(/^[0-9a-f]{40}(-dirty)?$/)
    const config = JSON.parse(await skopeo('inspect', '--config', `docker://${repo}:2.0`)) as {
      architecture: string
      config: { User: string; Entrypoint: string[]; ExposedPorts: Record<string, object> }
    }
    expect(config.architecture).toBe('arm64')
    expect(config.config).toMatchObject({
      User: '65532:65532',
      Entrypoint: ['/app'],
      ExposedPorts: { '8080/tcp': {} },
    })
  })

  it('same source in two different directories (separate caches, both compiled) → the same digest', async () => {
    const copies = ['checkout-a', join('elsewhere', 'checkout-b')].map((d) => join(home, d, 'sample-app'))
    const digests: string[] = []
    for (const [i, dir] of copies.entries()) {
      cpSync(join(repoRoot, 'sample-app'), dir, { recursive: true })
      const r = await runCli(['build', '--version', '3.0', '--repo', repo, '--source', dir, '--json'], {
        env: { ...env, EDGECANARY_HOME: join(home, `copy-home-${i}`) },
        cwd: home,
      })
      expect(r.status, r.stderr).toBe(0)
      const out = JSON.parse(r.stdout) as { digest: string; compiled: number }
      expect(out.compiled).toBe(1)
      digests.push(out.digest)
    }
    expect(digests[1]).toBe(digests[0])
    const labels = (
      JSON.parse(await skopeo('inspect', `docker://${repo}:3.0`)) as { Labels: Record<string, string> }
    ).Labels
    expect(labels['org.opencontainers.image.source']).toBe('sample-app')
    expect(JSON.stringify(labels)).not.toContain(home)
  })

  it('is reproducible: an unchanged rebuild reuses the binary and uploads 0 blobs', async () => {
    const r = await ec(
      'build',
      '--version',
      '2.0',
      '--repo',
      repo,
      '--source',
      join(repoRoot, 'sample-app'),
      '--json',
    )
    expect(r.status, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as {
      blobsUploaded: number
      blobsSkipped: number
      cached: number
      compiled: number
    }
    expect(out).toMatchObject({ blobsUploaded: 0, blobsSkipped: 2, cached: 1, compiled: 0 })
    // the rebuild took its layer from the cache beside the binary, and it is the very layer pushed
    const bin = join(home, 'cache', 'bin')
    const gz = readdirSync(bin).filter((f) => f.endsWith('.layer.gz'))
    expect(gz).toHaveLength(1)
    const layerDigest = `sha256:${createHash('sha256')
      .update(readFileSync(join(bin, gz[0])))
      .digest('hex')}`
    const manifest = JSON.parse(await skopeo('inspect', '--raw', `docker://${repo}:2.0`)) as {
      layers: { digest: string }[]
    }
    expect(manifest.layers.map((l) => l.digest)).toEqual([layerDigest])
  })

  it('builds a multi-platform index that skopeo lists with every platform', async () => {
    const r = await ec(
      'build',
      '--version',
      '2.1',
      '--repo',
      repo,
      '--source',
      join(repoRoot, 'sample-app'),
      '--platform',
      'linux/arm64,linux/arm/v7,linux/amd64',
      '--json',
    )
    expect(r.status, r.stderr).toBe(0)
    const raw = await skopeo('inspect', '--raw', `docker://${repo}:2.1`)
    const index = JSON.parse(raw) as {
      mediaType: string
      manifests: { platform: { architecture: string; variant?: string } }[]
    }
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json')
    expect(index.manifests.map((m) => `${m.platform.architecture}${m.platform.variant ?? ''}`)).toEqual([
      'arm64',
      'armv7',
      'amd64',
    ])
  })

  it.each([
    [['--version', '2.0 beta'], 'not a valid image tag'],
    [['--version', '2.0', '--platform', 'linux/sparc'], 'unknown platform'],
    [['--version', '2.0', '--repo', 'kubeapp:2.0'], 'must be HOST[:PORT]/NAME'],
  ])('bad input %j → exit 2 with a one-line reason and a hint', async (args, reason) => {
    const withRepo = args.includes('--repo') ? args : ['--repo', repo, ...args]
    const r = await ec('build', '--source', join(repoRoot, 'sample-app'), ...withRepo)
    expect(r.status).toBe(2)
    expect(r.stderr).toContain(reason)
    expect(r.stderr).toMatch(/Hint: /)
  })

  it('a missing source directory is exit 2 naming it', async () => {
    const r = await ec('build', '--repo', repo, '--version', '2.0', '--source', '/nonexistent')
    expect(r.status).toBe(2)
    // one line naming it, then the hint on the next
    expect(r.stderr).toMatch(
      /^Error: source directory "\/nonexistent" does not exist\nHint: .*--source DIR.*$/m,
    )
  })

  it('an unreachable registry is exit 2 naming it, and nothing is pushed', async () => {
    const port = await freePort()
    const r = await ec(
      'build',
      '--version',
      '9.9',
      '--repo',
      `127.0.0.1:${port}/kubeapp`,
      '--source',
      join(repoRoot, 'sample-app'),
    )
    expect(r.status).toBe(2)
    expect(r.stderr).toContain(`127.0.0.1:${port}`)
    const tags = await fetch(`${registry.url}/v2/kubeapp/tags/list`).then(
      (x) => x.json() as Promise<{ tags: string[] }>,
    )
    expect(tags.tags).not.toContain('9.9')
  })
})
