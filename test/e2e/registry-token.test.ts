import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { createSign, randomUUID, X509Certificate } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { freePort, waitFor } from '../helpers/ports.js'
import { repoRoot } from '../helpers/sandbox.js'

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url')

// Debian's docker-registry with `auth: token`, and a token server of the test's own that signs
// JWTs with a generated key: the Bearer flow (realm, service, scope) end to end.
describe('push with the registry Bearer-token flow', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ec-token-'))
  let registry: ChildProcess
  let tokens: Server
  let regPort = 0
  const scopes: string[] = []
  let refreshGrants = 0
  const env = {
    ...process.env,
    EDGECANARY_HOME: join(dir, 'home'),
    GOCACHE: process.env.GOCACHE ?? join(homedir(), '.cache', 'go-build'),
    CI: 'true',
  }

  beforeAll(async () => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '2',
        '-subj',
        '/CN=token-issuer',
      ],
      { stdio: 'ignore' },
    )
    const key = readFileSync(join(dir, 'key.pem'))
    const der = new X509Certificate(readFileSync(join(dir, 'cert.pem'))).raw
    const tokenPort = await freePort()
    tokens = createServer(async (req, res) => {
      let chunks = ''
      for await (const c of req) chunks += c
      // GET with Basic credentials, or docker's OAuth2 POST with an identity (refresh) token
      const oauth = req.method === 'POST'
      const params = oauth ? new URLSearchParams(chunks) : new URL(req.url ?? '/', 'http://x').searchParams
      const ok = oauth
        ? params.get('grant_type') === 'refresh_token' && params.get('refresh_token') === 'idtok-123'
        : req.headers.authorization === `Basic ${Buffer.from('ci:tok-pass').toString('base64')}`
      if (!ok) {
        res.writeHead(401).end()
        return
      }
      if (oauth) refreshGrants++
      const url = { searchParams: params }
      const scope = params.get('scope') ?? ''
      scopes.push(scope)
      const [, name, actions] = scope.split(':')
      const now = Math.floor(Date.now() / 1000)
      const header = { alg: 'RS256', typ: 'JWT', x5c: [der.toString('base64')] }
      const claims = {
        iss: 'ec-test-issuer',
        sub: 'ci',
        aud: url.searchParams.get('service'),
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomUUID(),
        access: name ? [{ type: 'repository', name, actions: (actions ?? '').split(',') }] : [],
      }
      const unsigned = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`
      const sig = createSign('RSA-SHA256').update(unsigned).sign(key)
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(
          JSON.stringify(
            oauth ? { access_token: `${unsigned}.${b64url(sig)}` } : { token: `${unsigned}.${b64url(sig)}` },
          ),
        )
    })
    await new Promise<void>((r) => tokens.listen(tokenPort, '127.0.0.1', () => r()))
    regPort = await freePort()
    mkdirSync(join(dir, 'data'))
    writeFileSync(
      join(dir, 'config.yml'),
      `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${regPort}\n  secret: ec-test\nauth:\n  token:\n    realm: http://127.0.0.1:${tokenPort}/token\n    service: ec-test-registry\n    issuer: ec-test-issuer\n    rootcertbundle: ${join(dir, 'cert.pem')}\n`,
    )
    registry = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' })
    await waitFor(
      'registry',
      async () =>
        (await fetch(`http://127.0.0.1:${regPort}/v2/`).catch(() => undefined))?.status === 401
          ? true
          : undefined,
      20_000,
      100,
    )
  })
  afterAll(async () => {
    if (registry?.exitCode === null) {
      registry.kill('SIGTERM')
      await new Promise((r) => registry.on('exit', r))
    }
    tokens?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('gets a scoped token with the credentials and pushes; a re-push uploads 0 blobs', async () => {
    const repo = `127.0.0.1:${regPort}/kubeapp`
    const args = [
      'build',
      '--version',
      '2.0',
      '--repo',
      repo,
      '--source',
      join(repoRoot, 'sample-app'),
      '--username',
      'ci',
      '--password-stdin',
      '--json',
    ]
    const first = await runCli(args, { env, input: 'tok-pass\n' })
    expect(first.status, first.stderr).toBe(0)
    expect(JSON.parse(first.stdout)).toMatchObject({ blobsUploaded: 2 })
    // distribution 2.8 lists a challenge's actions in Go map order: pull,push or push,pull
    const actions = scopes.map((x) => x.split(':')[2]?.split(',').sort().join(','))
    expect(actions).toContain('pull,push')
    const again = await runCli(args, { env, input: 'tok-pass\n' })
    expect(JSON.parse(again.stdout)).toMatchObject({ blobsUploaded: 0, blobsSkipped: 2 })
  })

  it.each([
    ['an identitytoken in config.json', { auths: { HOST: { identitytoken: 'idtok-123' } } }],
    ['a credential helper answering Username <token>', { credHelpers: { HOST: 'ectoken' } }],
  ])('pushes with %s: a refresh_token grant at the realm', async (_n, cfg) => {
    const cfgDir = join(dir, 'docker-cfg')
    const bin = join(dir, 'bin')
    mkdirSync(cfgDir, { recursive: true })
    mkdirSync(bin, { recursive: true })
    writeFileSync(
      join(bin, 'docker-credential-ectoken'),
      '#!/bin/sh\nread -r server\nprintf \'{"ServerURL":"%s","Username":"<token>","Secret":"idtok-123"}\' "$server"\n',
      { mode: 0o755 },
    )
    writeFileSync(join(cfgDir, 'config.json'), JSON.stringify(cfg).replace('HOST', `127.0.0.1:${regPort}`))
    const before = refreshGrants
    const r = await runCli(
      [
        'build',
        '--version',
        '3.0',
        '--repo',
        `127.0.0.1:${regPort}/kubeapp`,
        '--source',
        join(repoRoot, 'sample-app'),
        '--json',
      ],
      { env: { ...env, DOCKER_CONFIG: cfgDir, PATH: `${bin}:${process.env.PATH}` } },
    )
    expect(r.status, r.stderr).toBe(0)
    expect(refreshGrants).toBeGreaterThan(before)
    expect(r.stdout + r.stderr).not.toContain('idtok-123')
  })

  it('a token server refusing the credentials is exit 2 naming the registry', async () => {
    const r = await runCli(
      [
        'build',
        '--version',
        '2.1',
        '--repo',
        `127.0.0.1:${regPort}/kubeapp`,
        '--source',
        join(repoRoot, 'sample-app'),
        '--username',
        'ci',
        '--password-stdin',
      ],
      { env, input: 'nope\n' },
    )
    expect(r.status).toBe(2)
    expect(r.stderr).toContain(`registry 127.0.0.1:${regPort} refused the credentials`)
  })

  it('without Go on PATH, build says how to install it (exit 2)', async () => {
    const r = await runCli(
      [
        'build',
        '--version',
        '2.2',
        '--repo',
        `127.0.0.1:${regPort}/kubeapp`,
        '--source',
        join(repoRoot, 'sample-app'),
      ],
      { env: { ...env, PATH: '/nonexistent' } },
    )
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('the Go toolchain is not installed')
    expect(r.stderr).toContain('apt-get install golang-go')
  })
})
