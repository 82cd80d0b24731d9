import { mkdtempSync, rmSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { type DockerRegistry, startDockerRegistry } from '../helpers/docker-registry.js'
import { repoRoot } from '../helpers/sandbox.js'

// edgecanary build against Debian's docker-registry: anonymous and htpasswd Basic auth.
describe('build and push to a real docker-registry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ec-reg-'))
  let open: DockerRegistry
  let basic: DockerRegistry
  // HOME is private (for ~/.docker/config.json); Go's build cache stays the shared one
  const env = {
    ...process.env,
    EDGECANARY_HOME: join(dir, 'home'),
    HOME: dir,
    GOCACHE: process.env.GOCACHE ?? join(homedir(), '.cache', 'go-build'),
    CI: 'true',
  }
  const build = (repo: string, extra: string[] = [], input?: string) =>
    runCli(
      [
        'build',
        '--version',
        '2.0',
        '--repo',
        repo,
        '--source',
        join(repoRoot, 'sample-app'),
        '--json',
        ...extra,
      ],
      { env, input },
    )

  beforeAll(async () => {
    open = await startDockerRegistry(join(dir, 'open'))
    basic = await startDockerRegistry(join(dir, 'basic'), { ci: 's3cret-pass' })
  })
  afterAll(async () => {
    await open?.stop()
    await basic?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('pushes anonymously; a re-push uploads 0 blobs', async () => {
    const first = await build(`${open.host}/kubeapp`)
    expect(first.status, first.stderr).toBe(0)
    expect(JSON.parse(first.stdout)).toMatchObject({ blobsUploaded: 2 })
    const again = await build(`${open.host}/kubeapp`)
    expect(JSON.parse(again.stdout)).toMatchObject({ blobsUploaded: 0, blobsSkipped: 2 })
    const tags = (await (await fetch(`http://${open.host}/v2/kubeapp/tags/list`)).json()) as {
      tags: string[]
    }
    expect(tags.tags).toEqual(['2.0'])
  })

  it('pushes with Basic auth from --username/--password-stdin, without printing the password', async () => {
    const r = await build(`${basic.host}/kubeapp`, ['--username', 'ci', '--password-stdin'], 's3cret-pass\n')
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout + r.stderr).not.toContain('s3cret-pass')
  })

  it('takes credentials from ~/.docker/config.json', async () => {
    const { mkdirSync, writeFileSync } = await import('node:fs')
    mkdirSync(join(dir, '.docker'), { recursive: true })
    writeFileSync(
      join(dir, '.docker', 'config.json'),
      JSON.stringify({ auths: { [basic.host]: { auth: Buffer.from('ci:s3cret-pass').toString('base64') } } }),
    )
    const r = await build(`${basic.host}/kubeapp`)
    rmSync(join(dir, '.docker'), { recursive: true })
    expect(r.status, r.stderr).toBe(0)
  })

  it('a wrong password is exit 2 naming the registry, and nothing is pushed', async () => {
    const r = await runCli(
      [
        'build',
        '--version',
        '6.6',
        '--repo',
        `${basic.host}/kubeapp`,
        '--source',
        join(repoRoot, 'sample-app'),
        '--username',
        'ci',
        '--password-stdin',
      ],
      { env, input: 'wrong\n' },
    )
    expect(r.status).toBe(2)
    expect(r.stderr).toContain(`registry ${basic.host} refused the credentials`)
    expect(r.stderr).toContain('Hint:')
    const tags = await fetch(`http://${basic.host}/v2/kubeapp/tags/list`, {
      headers: { authorization: `Basic ${Buffer.from('ci:s3cret-pass').toString('base64')}` },
    })
    expect(((await tags.json()) as { tags: string[] }).tags).not.toContain('6.6')
  })
})
