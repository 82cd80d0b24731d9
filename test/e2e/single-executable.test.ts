import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../helpers/ports.js'
import { repoRoot } from '../helpers/sandbox.js'

interface Run {
  status: number | null
  stdout: string
  stderr: string
}

/**
 * The single-file executable (`npm run build:sea`), built into a temporary directory and run as
 * a user does, from a directory with no node_modules and no sample-app: --version, sandbox up
 * (which starts the executable itself again in the background), init, release, registry up.
 */
describe('the single-file executable', { timeout: 300_000 }, () => {
  let dir: string
  let exe: string
  let cwd: string
  let env: NodeJS.ProcessEnv
  const home = () => env.EDGECANARY_HOME as string

  function ec(args: string[], timeoutMs = 180_000): Promise<Run> {
    return new Promise((resolve) => {
      const child = spawn(exe, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString()
      })
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString()
      })
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      child.on('close', (status) => {
        clearTimeout(timer)
        resolve({ status, stdout, stderr })
      })
    })
  }

  const pidIn = (file: string) => (existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined)
  const killPid = (pid: number | undefined) => {
    if (!pid) return
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ec-sea-'))
    cwd = join(dir, 'work')
    mkdirSync(cwd)
    env = {
      PATH: process.env.PATH,
      HOME: join(dir, 'home'),
      EDGECANARY_HOME: join(dir, 'home', '.edgecanary'),
      KUBECONFIG: join(dir, 'kubeconfig'),
      // Go's build cache stays shared, so the sample app's compile stays warm
      GOCACHE: process.env.GOCACHE ?? join(homedir(), '.cache', 'go-build'),
      CI: 'true',
    }
    const out = execFileSync(process.execPath, ['scripts/build-sea.mjs', '--out', join(dir, 'out')], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 180_000,
    })
    exe = out.trim().split('\n').pop() as string
  })
  afterAll(async () => {
    if (exe && existsSync(exe)) await ec(['sandbox', 'down'], 60_000)
    // whatever `down` did not stop, by PID
    killPid(pidIn(join(home(), 'sandbox', 'sandbox.pid')))
    killPid(pidIn(join(home(), 'registry', 'registry.pid')))
    rmSync(dir, { recursive: true, force: true })
  })

  it(`is one file named edgecanary-linux-${process.arch} that runs without node_modules`, async () => {
    expect(exe).toBe(join(dir, 'out', `edgecanary-${process.platform}-${process.arch}`))
    expect(existsSync(join(cwd, 'node_modules'))).toBe(false)
    const v = await ec(['--version'])
    expect(v.status, v.stderr).toBe(0)
    expect(v.stdout).toMatch(/^edgecanary\/\d+\.\d+\.\d+ /)
    // nothing on stderr: no SEA warning about require() of files
    expect(v.stderr).toBe('')
    // help and the unknown-command hint work as in the npm package
    expect((await ec(['help', 'release'])).stdout).toContain('$ edgecanary release')
    const typo = await ec(['relase', '2.0'])
    expect(typo.status).toBe(2)
    expect(typo.stderr).toContain('did you mean `edgecanary release`?')
  })

  it('sandbox up starts the executable itself in the background', async () => {
    const up = await ec(['sandbox', 'up', '--nodes', '1', '--json'])
    expect(up.status, up.stderr).toBe(0)
    expect(JSON.parse(up.stdout)).toMatchObject({ context: 'edgecanary-sandbox', nodes: ['pi-1'] })
    const pid = pidIn(join(home(), 'sandbox', 'sandbox.pid'))
    expect(pid).toBeGreaterThan(0)
    expect(readlinkSync(`/proc/${pid}/exe`)).toBe(exe)
  })

  it('init builds the shipped sample app and deploys it; release promotes 2.0', async () => {
    const init = await ec(['init', '--replicas', '2'])
    expect(init.status, init.stderr).toBe(0)
    expect(init.stderr).toContain('using the sample app shipped with edgecanary')
    expect(existsSync(join(cwd, 'edgecanary.yaml'))).toBe(true)
    // the files it carries were written once under EDGECANARY_HOME/sea (dockerode's BuildKit protos too)
    const [copy] = readdirSync(join(home(), 'sea'))
    for (const f of [
      'templates/kubernetes/deployment.yaml',
      'sample-app/main.go',
      'dockerode/proto/auth.proto',
    ])
      expect(existsSync(join(home(), 'sea', copy, f)), f).toBe(true)
    const rel = await ec([
      'release',
      '2.0',
      '--steps',
      '50',
      '--interval',
      '1s',
      '--iterations',
      '1',
      '--json',
    ])
    expect(rel.status, rel.stderr).toBe(0)
    expect(JSON.parse(rel.stdout)).toMatchObject({ version: '2.0', phase: 'Succeeded' })
    const status = await ec(['status', '--json'])
    expect(JSON.parse(status.stdout)).toMatchObject({ phase: 'Succeeded', version: '2.0' })
  })

  it('registry up runs the executable itself as the registry', async () => {
    const port = await freePort()
    const up = await ec(['registry', 'up', '--port', String(port), '--json'])
    expect(up.status, up.stderr).toBe(0)
    const { pid } = JSON.parse(up.stdout) as { pid: number }
    expect(readlinkSync(`/proc/${pid}/exe`)).toBe(exe)
    const res = await fetch(`http://127.0.0.1:${port}/v2/`)
    expect(res.status).toBe(200)
    const down = await ec(['registry', 'down', '--json'])
    expect(down.status, down.stderr).toBe(0)
  })
})
