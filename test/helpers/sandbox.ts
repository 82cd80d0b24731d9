import { type ChildProcess, spawn } from 'node:child_process'
import { chownSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'

export const repoRoot = join(import.meta.dirname, '..', '..')
export const cliEntry = join(repoRoot, 'bin', 'run.js')

export interface TestSandbox {
  /** EDGECANARY_HOME of this sandbox. */
  home: string
  /** A kubeconfig (0600) whose current context is the sandbox. */
  kubeconfig: string
  apiUrl: string
  /** host:port of the sandbox registry. */
  registry: string
  pid: number
  /** Environment for CLI and kubectl calls against this sandbox. */
  env: NodeJS.ProcessEnv
  /** Log of the sandbox process so far. */
  log(): string
  stop(): Promise<void>
}

/**
 * Starts a sandbox as a child process (`edgecanary sandbox up --foreground`) with its own
 * EDGECANARY_HOME and kubeconfig, waits until its API answers, and returns how to reach it.
 * `stop()` sends SIGTERM by PID (pods get SIGTERM too) and SIGKILL after 30 s.
 */
export async function startSandbox(
  opts: {
    nodes?: number
    arch?: string
    backoffBaseMs?: number
    nodeGraceMs?: number
    home?: string
    /** More `sandbox up` flags, e.g. `--address=127.0.0.2`. */
    args?: string[]
    /** Run the sandbox as this plain user id (the test must be root), with HOME and GOCACHE in its home. */
    asUid?: number
  } = {},
): Promise<TestSandbox> {
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'ec-sandbox-'))
  const dir = join(home, 'sandbox')
  const logLines: string[] = []
  if (opts.asUid !== undefined) chownSync(home, opts.asUid, opts.asUid)
  const asUser =
    opts.asUid === undefined
      ? []
      : [
          '--reuid',
          String(opts.asUid),
          '--regid',
          String(opts.asUid),
          '--clear-groups',
          '--',
          process.execPath,
        ]
  const child: ChildProcess = spawn(
    asUser.length ? 'setpriv' : process.execPath,
    [
      ...asUser,
      cliEntry,
      'sandbox',
      'up',
      '--foreground',
      // a test process killed before its `finally` (SIGKILL, SIGPIPE) takes its cluster with it
      '--exit-with-parent',
      `--nodes=${opts.nodes ?? 4}`,
      `--arch=${opts.arch ?? 'arm64'}`,
      `--backoff-base=${opts.backoffBaseMs ?? 1000}`,
      `--node-grace=${opts.nodeGraceMs ?? 3000}`,
      ...(opts.args ?? []),
    ],
    {
      env: {
        ...process.env,
        EDGECANARY_HOME: home,
        ...(opts.asUid === undefined ? {} : { HOME: home, GOCACHE: join(home, 'go-cache') }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  child.stdout?.on('data', (d: Buffer) => logLines.push(d.toString()))
  child.stderr?.on('data', (d: Buffer) => logLines.push(d.toString()))
  const pid = child.pid
  if (pid === undefined) throw new Error('sandbox did not start')
  let exitCode: number | null | undefined
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code) => {
      exitCode = code
      resolve()
    }),
  )

  const deadline = Date.now() + 60_000
  const stateFile = join(dir, 'state.json')
  while (true) {
    if (exitCode !== undefined) throw new Error(`sandbox exited (${exitCode}):\n${logLines.join('')}`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`sandbox not ready in 60 s:\n${logLines.join('')}`)
    }
    if (logLines.join('').includes('sandbox ready') && existsSync(stateFile)) break
    await new Promise((r) => setTimeout(r, 100))
  }
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { apiUrl: string; registry: string }
  const kubeconfig = join(home, 'kubeconfig')
  copyFileSync(join(dir, 'kubeconfig.yaml'), kubeconfig)
  // HOME is private (kubectl's discovery cache); Go's build cache stays shared so builds stay warm.
  const goCache = process.env.GOCACHE ?? join(homedir(), '.cache', 'go-build')
  const env = {
    ...process.env,
    EDGECANARY_HOME: home,
    KUBECONFIG: kubeconfig,
    HOME: home,
    GOCACHE: goCache,
    CI: 'true',
  }
  return {
    home,
    kubeconfig,
    apiUrl: state.apiUrl,
    registry: state.registry,
    pid,
    env,
    log: () => logLines.join(''),
    async stop() {
      if (exitCode === undefined) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
        await exited
        clearTimeout(timer)
      }
      if (!opts.home) rmSync(home, { recursive: true, force: true })
    },
  }
}
