import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { cliEntry } from '../helpers/sandbox.js'

// `sandbox up` as a user runs it: background process, context merged into an existing
// kubeconfig and made current, kubectl works, `up` twice is a no-op, `down` stops every pod
// process and removes the context.
describe('edgecanary sandbox up/status/down', () => {
  const home = mkdtempSync(join(tmpdir(), 'ec-life-'))
  const kubeconfig = join(home, 'config')
  const env = { ...process.env, EDGECANARY_HOME: home, KUBECONFIG: kubeconfig, HOME: home, CI: 'true' }
  const ec = (...args: string[]) =>
    spawnSync(process.execPath, [cliEntry, ...args], { env, encoding: 'utf8', timeout: 120_000 })
  let pid = 0

  beforeAll(() => {
    // A kubeconfig that already has another cluster: it must survive the merge.
    writeFileSync(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster:\n    server: https://127.0.0.1:9\ncontexts:\n- name: other\n  context:\n    cluster: other\n    user: other\nusers:\n- name: other\n  user:\n    token: abc\ncurrent-context: other\n',
      { mode: 0o600 },
    )
  })

  afterAll(() => {
    if (pid && existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL')
    rmSync(home, { recursive: true, force: true })
  })

  it('starts in the background, merges the context and makes it current', () => {
    const r = ec('sandbox', 'up', '--nodes', '2', '--json')
    expect(r.status, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as { pid: number; apiUrl: string; registry: string; nodes: string[] }
    pid = out.pid
    expect(out.apiUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    expect(out.nodes).toEqual(['pi-1', 'pi-2'])
    const cfg = parse(readFileSync(kubeconfig, 'utf8')) as {
      'current-context': string
      contexts: { name: string }[]
    }
    expect(cfg['current-context']).toBe('edgecanary-sandbox')
    expect(cfg.contexts.map((c) => c.name).sort()).toEqual(['edgecanary-sandbox', 'other'])
    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600)
  })

  it('answers kubectl with TLS and the token from the merged kubeconfig', () => {
    const nodes = execFileSync('kubectl', ['get', 'nodes', '-o', 'name'], { env, encoding: 'utf8' })
    expect(nodes.trim().split('\n').sort()).toEqual(['node/pi-1', 'node/pi-2'])
  })

  it('is a no-op when already running', () => {
    const r = ec('sandbox', 'up', '--json')
    expect(r.status, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as { pid: number; alreadyRunning: boolean }
    expect(out).toMatchObject({ pid, alreadyRunning: true })
  })

  it('reports status', () => {
    const r = ec('sandbox', 'status', '--json')
    expect(r.status, r.stderr).toBe(0)
    const s = JSON.parse(r.stdout) as {
      running: boolean
      nodes: { name: string; ready: boolean; arch: string }[]
    }
    expect(s.running).toBe(true)
    expect(s.nodes).toEqual([
      { name: 'pi-1', ready: true, arch: 'arm64' },
      { name: 'pi-2', ready: true, arch: 'arm64' },
    ])
  })

  it('stops the server, removes the context and leaves no process behind', () => {
    const r = ec('sandbox', 'down', '--json')
    expect(r.status, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({ stopped: true, contextRemoved: true })
    expect(existsSync(`/proc/${pid}`)).toBe(false)
    const cfg = parse(readFileSync(kubeconfig, 'utf8')) as {
      'current-context'?: string
      contexts: { name: string }[]
    }
    expect(cfg.contexts.map((c) => c.name)).toEqual(['other'])
    expect(cfg['current-context'] ?? '').not.toBe('edgecanary-sandbox')
    const status = JSON.parse(ec('sandbox', 'status', '--json').stdout) as { running: boolean }
    expect(status.running).toBe(false)
  })

  it('keeps objects across an API restart fault and across down/up', () => {
    const up = ec('sandbox', 'up', '--nodes', '2', '--json')
    expect(up.status, up.stderr).toBe(0)
    pid = (JSON.parse(up.stdout) as { pid: number }).pid
    execFileSync('kubectl', ['apply', '-f', '-'], {
      env,
      encoding: 'utf8',
      input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kept, namespace: default}\ndata: {k: v}\n',
    })
    expect(ec('sandbox', 'fault', 'api-restart').status).toBe(0)
    let after = ''
    for (let i = 0; i < 50 && !after; i++) {
      try {
        after = execFileSync('kubectl', ['get', 'configmap', 'kept', '-o', 'jsonpath={.data.k}'], {
          env,
          encoding: 'utf8',
        })
      } catch {
        execFileSync('sleep', ['0.1'])
      }
    }
    expect(after).toBe('v')
    expect(ec('sandbox', 'down').status).toBe(0)
    const again = ec('sandbox', 'up', '--nodes', '2', '--json')
    expect(again.status, again.stderr).toBe(0)
    pid = (JSON.parse(again.stdout) as { pid: number }).pid
    expect(
      execFileSync('kubectl', ['get', 'configmap', 'kept', '-o', 'jsonpath={.data.k}'], {
        env,
        encoding: 'utf8',
      }),
    ).toBe('v')
    expect(ec('sandbox', 'down').status).toBe(0)
  })

  it('keeps its ports across down and up', () => {
    const first = JSON.parse(readFileSync(join(home, 'sandbox', 'state.json'), 'utf8')) as { apiPort: number }
    const r = ec('sandbox', 'up', '--nodes', '2', '--json')
    expect(r.status, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as { pid: number; apiPort: number }
    pid = out.pid
    expect(out.apiPort).toBe(first.apiPort)
    expect(ec('sandbox', 'down').status).toBe(0)
    expect(readdirSync('/proc').includes(String(pid))).toBe(false)
  })
})
