import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js'

const pkg = (await import('../../package.json', { with: { type: 'json' } })).default as { version: string }

describe('edgecanary version', () => {
  let sb: TestSandbox
  beforeAll(async () => {
    sb = await startSandbox({ nodes: 0 })
  })
  afterAll(async () => {
    await sb?.stop()
  })

  it('reports client, commit, node and the reachable server (GET /version)', async () => {
    const r = await runCli(['version', '--json'], { env: sb.env })
    expect(r.status, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout) as {
      client: { version: string; commit: string; node: string }
      server?: { gitVersion: string; where: string }
    }
    expect(doc.client.version).toBe(pkg.version)
    expect(doc.client.commit).toMatch(/^[0-9a-f]{12}(-dirty)?$/)
    expect(doc.client.node).toBe(process.version)
    expect(doc.server?.gitVersion).toBe('v1.32.0+edgecanary')
    expect(doc.server?.where).toContain(sb.apiUrl)
    const human = await runCli(['version'], { env: sb.env })
    expect(human.stdout).toMatch(
      new RegExp(`^Client Version: ${pkg.version.replaceAll('.', '\\.')} \\(commit `),
    )
    expect(human.stdout).toContain('Server Version: v1.32.0+edgecanary')
  })

  it('without a cluster: the client part, the reason, exit 0; --client asks no cluster', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ec-version-'))
    try {
      const env = { ...process.env, HOME: home, KUBECONFIG: join(home, 'missing.yaml') }
      const r = await runCli(['version', '--json'], { env })
      expect(r.status, r.stderr).toBe(0)
      const doc = JSON.parse(r.stdout) as { server?: unknown; serverError?: string }
      expect(doc.server).toBeUndefined()
      expect(doc.serverError).toBeTruthy()
      const client = await runCli(['version', '--client', '--json'], { env: sb.env })
      const only = JSON.parse(client.stdout) as { server?: unknown; serverError?: string }
      expect(only.server).toBeUndefined()
      expect(only.serverError).toBeUndefined()
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })
})

describe('help', () => {
  it('-h is --help, and `help COMMAND` shows the same page', async () => {
    const long = await runCli(['release', '--help'])
    const short = await runCli(['release', '-h'])
    const help = await runCli(['help', 'release'])
    expect(long.status).toBe(0)
    expect(long.stdout).toContain('$ edgecanary release')
    expect(short.stdout).toBe(long.stdout)
    expect(help.stdout).toBe(long.stdout)
    const topic = await runCli(['help', 'sandbox', 'up'])
    expect(topic.stdout).toContain('$ edgecanary sandbox up')
  })

  it('help --json describes a command as data; an unknown one is a usage error', async () => {
    const r = await runCli(['help', 'verify', '--json'])
    expect(r.status, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout) as { id: string; flags: Record<string, unknown> }
    expect(doc.id).toBe('verify')
    expect(Object.keys(doc.flags)).toContain('requests')
    const bad = await runCli(['help', 'relase'])
    expect(bad.status).toBe(2)
    expect(bad.stderr).toContain('unknown command "relase"')
  })

  it('--version prints the client version', async () => {
    const r = await runCli(['--version'])
    expect(r.stdout).toContain(`edgecanary/${pkg.version}`)
  })
})
