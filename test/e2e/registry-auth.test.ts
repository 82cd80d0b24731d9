import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
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
    mkdirSync(join(dir, '.docker'), { recursive: true })
    writeFileSync(
      join(dir, '.docker', 'config.json'),
      JSON.stringify({ auths: { [basic.host]: { auth: Buffer.from('ci:s3cret-pass').toString('base64') } } }),
    )
    const r = await build(`${basic.host}/kubeapp`)
    rmSync(join(dir, '.docker'), { recursive: true })
    expect(r.status, r.stderr).toBe(0)
  })

  describe('docker credential helpers', () => {
    // real helper programs on PATH, speaking docker-credential-helpers' protocol
    const bin = join(dir, 'bin')
    const log = join(dir, 'helper.log')
    const cfgDir = join(dir, 'docker-cfg')
    const withHelpers = () => ({ ...env, PATH: `${bin}:${process.env.PATH}`, DOCKER_CONFIG: cfgDir })
    const tagsOf = async (version: string) => {
      const r = await fetch(`http://${basic.host}/v2/kubeapp/tags/list`, {
        headers: { authorization: `Basic ${Buffer.from('ci:s3cret-pass').toString('base64')}` },
      })
      return r.status === 200 && ((await r.json()) as { tags: string[] }).tags.includes(version)
    }
    beforeAll(() => {
      mkdirSync(bin, { recursive: true })
      mkdirSync(cfgDir, { recursive: true })
      const script = (name: string, body: string) =>
        writeFileSync(
          join(bin, `docker-credential-${name}`),
          `#!/bin/sh\nread -r server\necho "$0 $* $server" >> ${log}\n${body}\n`,
          {
            mode: 0o755,
          },
        )
      script(
        'ectest',
        `[ "$1" = get ] || exit 3\nprintf '{"ServerURL":"%s","Username":"ci","Secret":"s3cret-pass"}' "$server"`,
      )
      script('locked', 'echo "the keychain is locked" >&2\nexit 1')
      script('empty', 'echo "credentials not found in native keychain"\nexit 1')
    })
    const docker = (cfg: object) => writeFileSync(join(cfgDir, 'config.json'), JSON.stringify(cfg))
    const buildAs = (version: string) =>
      runCli(
        [
          'build',
          '--version',
          version,
          '--repo',
          `${basic.host}/kubeapp`,
          '--source',
          join(repoRoot, 'sample-app'),
          '--json',
        ],
        {
          env: withHelpers(),
        },
      )

    it('credsStore in $DOCKER_CONFIG: the helper gets the server on stdin, nothing secret on its command line', async () => {
      docker({ credsStore: 'ectest', auths: { [basic.host]: {} } })
      rmSync(log, { force: true })
      const r = await buildAs('7.1')
      expect(r.status, r.stderr).toBe(0)
      expect(await tagsOf('7.1')).toBe(true)
      const calls = readFileSync(log, 'utf8').trim().split('\n')
      expect(calls.length).toBeGreaterThan(0)
      for (const c of calls) expect(c).toBe(`${join(bin, 'docker-credential-ectest')} get ${basic.host}`)
      expect(r.stdout + r.stderr).not.toContain('s3cret-pass')
    })

    it('credHelpers for this registry wins over credsStore', async () => {
      docker({ credsStore: 'locked', credHelpers: { [basic.host]: 'ectest' } })
      const r = await buildAs('7.2')
      expect(r.status, r.stderr).toBe(0)
      expect(await tagsOf('7.2')).toBe(true)
    })

    it.each([
      ['a missing helper', { credHelpers: { HOST: 'nope' } }, 'docker-credential-nope', 'is not on PATH'],
      ['a failing helper', { credsStore: 'locked' }, 'docker-credential-locked', 'the keychain is locked'],
    ])('%s: exit 2 naming it, before anything is built or pushed', async (_n, cfg, helper, why) => {
      docker(JSON.parse(JSON.stringify(cfg).replace('HOST', basic.host)))
      const r = await runCli(
        [
          'build',
          '--version',
          '7.3',
          '--repo',
          `${basic.host}/kubeapp`,
          '--source',
          join(repoRoot, 'sample-app'),
        ],
        { env: withHelpers() },
      )
      expect(r.status, r.stderr).toBe(2)
      expect(r.stderr).toContain(helper)
      expect(r.stderr).toContain(why)
      expect(r.stderr).toContain('Hint:')
      // the compile step never started
      expect(r.stderr).not.toMatch(/compile/)
      expect(await tagsOf('7.3')).toBe(false)
    })

    it('a helper with no credentials stored means anonymous: the registry refuses, exit 2', async () => {
      docker({ credsStore: 'empty' })
      const r = await runCli(
        [
          'build',
          '--version',
          '7.4',
          '--repo',
          `${basic.host}/kubeapp`,
          '--source',
          join(repoRoot, 'sample-app'),
        ],
        { env: withHelpers() },
      )
      expect(r.status).toBe(2)
      expect(r.stderr).toContain(`registry ${basic.host} refused the credentials`)
    })
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
