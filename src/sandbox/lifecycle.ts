import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { delimiter, join } from 'node:path'
import { parse } from 'yaml'
import { emulatorFor } from '../core/node-archs.js'
import { isAlive, livePid, sleep, spawnDetached, stopPid } from '../daemon.js'
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

/**
 * Every qemu-user emulator the nodes' architectures need on this host is on PATH (the kubelet
 * runs foreign binaries through it); otherwise a usage error naming the package.
 */
export function assertEmulators(
  archs: string[],
  host: string = process.arch === 'x64' ? 'amd64' : process.arch,
  path: string = process.env.PATH ?? '',
): void {
  for (const arch of new Set(archs)) {
    const qemu = emulatorFor(arch, host)
    if (qemu && !onPath(qemu, path)) {
      throw new UsageError(`${arch} nodes need ${qemu} to run ${arch} binaries on this ${host} host`, {
        hint: 'install it: sudo apt-get install qemu-user-static',
      })
    }
  }
}

function onPath(exe: string, path: string): boolean {
  return path
    .split(delimiter)
    .filter(Boolean)
    .some((dir) => {
      try {
        accessSync(join(dir, exe), constants.X_OK)
        return true
      } catch {
        return false
      }
    })
}

/** PID of a live sandbox server, or undefined. A stale pid file (process gone) counts as none. */
export function runningPid(paths: SandboxPaths): number | undefined {
  return livePid(paths.pidFile)
}

export { isAlive }

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
  const child = spawnDetached({ entry: opts.entry, args: opts.args, env: opts.env, logFile: paths.logFile })
  const pid = child.pid
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000)
  while (Date.now() < deadline) {
    const exited = child.exitCode()
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
  return stopPid(paths.pidFile, timeoutMs)
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

export { SANDBOX_CONTEXT }
