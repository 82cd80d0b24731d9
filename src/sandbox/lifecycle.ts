import { spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { parse } from 'yaml'
import { UsageError } from '../errors.js'
import { SANDBOX_CONTEXT } from './kubeconfig-fragment.js'
import type { SandboxPaths, SandboxState } from './paths.js'

/** The sandbox needs Linux (processes, /proc, qemu-user); elsewhere say what to use instead. */
export function assertSupportedPlatform(platform: string = process.platform): void {
  if (platform !== 'linux') {
    throw new UsageError(`the embedded sandbox runs on Linux only (this is ${platform})`, {
      hint: 'use a real k3s cluster or k3d, and point edgecanary at it with --kubeconfig/--context',
    })
  }
}

/** PID of a live sandbox server, or undefined. A stale pid file (process gone) counts as none. */
export function runningPid(paths: SandboxPaths): number | undefined {
  if (!existsSync(paths.pidFile)) return undefined
  const pid = Number(readFileSync(paths.pidFile, 'utf8').trim())
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  return isAlive(pid) ? pid : undefined
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function readState(paths: SandboxPaths): SandboxState | undefined {
  if (!existsSync(paths.stateFile)) return undefined
  try {
    return JSON.parse(readFileSync(paths.stateFile, 'utf8')) as SandboxState
  } catch {
    return undefined
  }
}

/**
 * Starts `edgecanary sandbox up --foreground` as a detached background process, logging to
 * `sandbox.log`, and waits until its API answers /readyz. Returns the published state.
 */
export async function startBackground(opts: {
  paths: SandboxPaths
  entry: string
  args: string[]
  env: NodeJS.ProcessEnv
  timeoutMs?: number
}): Promise<SandboxState> {
  const { paths } = opts
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 })
  const log = openSync(paths.logFile, 'a', 0o600)
  const child = spawn(process.execPath, [opts.entry, ...opts.args], {
    detached: true,
    stdio: ['ignore', log, log],
    env: opts.env,
  })
  closeSync(log)
  const pid = child.pid
  if (pid === undefined) throw new Error('could not start the sandbox process')
  let exited: number | null | undefined
  child.on('exit', (code) => {
    exited = code
  })
  child.unref()
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000)
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      throw new UsageError(`the sandbox exited during start-up (code ${exited}): ${lastLogLine(paths)}`, {
        hint: `see ${paths.logFile}`,
      })
    }
    const state = readState(paths)
    if (state && state.pid === pid && (await apiReady(paths, state))) return state
    await sleep(100)
  }
  process.kill(pid, 'SIGTERM')
  throw new UsageError(`the sandbox API did not answer within ${(opts.timeoutMs ?? 30_000) / 1000}s`, {
    hint: `see ${paths.logFile}`,
  })
}

/** Stops the sandbox by PID: SIGTERM (pods get SIGTERM and their grace), SIGKILL after `timeoutMs`. */
export async function stopByPid(paths: SandboxPaths, timeoutMs = 45_000): Promise<boolean> {
  const pid = runningPid(paths)
  if (pid === undefined) {
    rmSync(paths.pidFile, { force: true })
    return false
  }
  process.kill(pid, 'SIGTERM')
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline && isAlive(pid)) await sleep(100)
  if (isAlive(pid)) process.kill(pid, 'SIGKILL')
  for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100)
  rmSync(paths.pidFile, { force: true })
  return true
}

/** The sandbox's own kubeconfig (written by the server, mode 0600). */
export function fragmentPath(paths: SandboxPaths): string {
  return `${paths.dir}/kubeconfig.yaml`
}

export function writePid(paths: SandboxPaths, pid: number): void {
  writeFileSync(paths.pidFile, `${pid}\n`, { mode: 0o600 })
}

/** GET /readyz with the sandbox's CA and token. */
export async function apiReady(paths: SandboxPaths, state: SandboxState): Promise<boolean> {
  const creds = readCredentials(paths)
  if (!creds) return false
  return new Promise((resolve) => {
    const req = request(
      `${state.apiUrl}/readyz`,
      { ca: creds.caPem, headers: { authorization: `Bearer ${creds.token}` }, timeout: 1000 },
      (res) => {
        res.resume()
        resolve(res.statusCode === 200)
      },
    )
    req.on('error', () => resolve(false))
    req.on('timeout', () => {
      req.destroy()
      resolve(false)
    })
    req.end()
  })
}

/** Performs an authenticated JSON request against the sandbox API (status, faults). */
export async function apiJson(
  paths: SandboxPaths,
  state: SandboxState,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const creds = readCredentials(paths)
  if (!creds)
    throw new UsageError('the sandbox has no credentials yet', { hint: 'run `edgecanary sandbox up`' })
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const req = request(
      `${state.apiUrl}${path}`,
      {
        method,
        ca: creds.caPem,
        headers: {
          authorization: `Bearer ${creds.token}`,
          accept: 'application/json',
          ...(payload ? { 'content-type': 'application/json' } : {}),
        },
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json: unknown = text
          try {
            json = JSON.parse(text)
          } catch {}
          resolve({ status: res.statusCode ?? 0, json })
        })
      },
    )
    req.on('error', reject)
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.end(payload)
  })
}

function readCredentials(paths: SandboxPaths): { caPem: string; token: string } | undefined {
  const file = fragmentPath(paths)
  if (!existsSync(file)) return undefined
  const doc = parse(readFileSync(file, 'utf8')) as {
    clusters?: { cluster?: { 'certificate-authority-data'?: string } }[]
    users?: { user?: { token?: string } }[]
  }
  const ca = doc.clusters?.[0]?.cluster?.['certificate-authority-data']
  const token = doc.users?.[0]?.user?.token
  if (!ca || !token) return undefined
  return { caPem: Buffer.from(ca, 'base64').toString('utf8'), token }
}

function lastLogLine(paths: SandboxPaths): string {
  if (!existsSync(paths.logFile)) return 'no log'
  const lines = readFileSync(paths.logFile, 'utf8').trim().split('\n')
  return lines.slice(-1)[0] ?? ''
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

export { SANDBOX_CONTEXT }
