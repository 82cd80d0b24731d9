import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { livePid, sleep, spawnDetached, stopPid } from '../daemon.js'
import { UsageError } from '../errors.js'
import { hostForUrl, reachableAddress } from '../net.js'
import { type EmbeddedRegistry, startRegistry } from './server.js'

/**
 * `edgecanary registry up|down|status`: the embedded OCI registry (the sandbox's, see
 * server.ts) served on its own, in the background, over plain HTTP, so that Pi nodes pull
 * from the laptop (`init --hosts … --registry laptop`).
 */

export const DEFAULT_REGISTRY_PORT = 5000

/**
 * The files of the standalone registry under `<home>/registry`.
 *
 *   registryPaths('/h').data → '/h/registry/data'
 */
export function registryPaths(home: string) {
  const dir = join(home, 'registry')
  return {
    dir,
    pidFile: join(dir, 'registry.pid'),
    logFile: join(dir, 'registry.log'),
    /** Address and port of the last run: the port is kept across down/up. */
    stateFile: join(dir, 'state.json'),
    data: join(dir, 'data'),
  }
}

export type RegistryPaths = ReturnType<typeof registryPaths>

/**
 * The token other machines push with (Bearer, or `docker login` with it as password): made
 * once, kept 0600 beside the registry's state. Loopback pushes need none.
 */
export function pushToken(paths: RegistryPaths): string {
  const file = join(paths.dir, 'push-token')
  if (!existsSync(file)) {
    mkdirSync(paths.dir, { recursive: true, mode: 0o700 })
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' })
  }
  return readFileSync(file, 'utf8').trim()
}

/** What a running registry publishes, and what `registry status --json` shows. */
export interface RegistryState {
  pid: number
  address: string
  port: number
  /** host:port for image references (`<host>/kubeapp:1.0`). */
  host: string
  url: string
  dataDir: string
  startedAt: string
}

export interface RegistryStatus extends Partial<RegistryState> {
  running: boolean
  dataDir: string
  logFile: string
}

/**
 * Where to listen: the flags, else (the port only) the last run's port, else 127.0.0.1:5000.
 * While a registry runs, asking for another address or port is a usage error (stop it first);
 * asking for nothing or for the same is a no-op.
 *
 *   listenAddress({}, undefined, undefined)                              → { address: '127.0.0.1', port: 5000 }
 *   listenAddress({}, { address: '10.0.0.1', port: 5001 }, undefined)    → { address: '127.0.0.1', port: 5001 }
 *   listenAddress({ port: 5002 }, { address: '127.0.0.1', port: 5001 }, undefined) → { address: '127.0.0.1', port: 5002 }
 *   listenAddress({}, s, { address: '10.0.0.1', port: 5001 })            → { address: '10.0.0.1', port: 5001 }  (running)
 *   listenAddress({ port: 5002 }, s, { address: '10.0.0.1', port: 5001 }) → throws UsageError
 */
export function listenAddress(
  flags: { address?: string; port?: number },
  saved: { address: string; port: number } | undefined,
  running: { address: string; port: number } | undefined,
): { address: string; port: number } {
  if (flags.address !== undefined && !isIP(flags.address))
    throw new UsageError(`--address ${flags.address} is not an IP address`, {
      hint: "pass the IP the Pi nodes reach this machine on (the laptop's LAN address), e.g. --address 192.168.1.20",
    })
  if (running) {
    const differs =
      (flags.address !== undefined && flags.address !== running.address) ||
      (flags.port !== undefined && flags.port !== running.port)
    if (differs)
      throw new UsageError(
        `the registry already runs on ${running.address}:${running.port}, not ${flags.address ?? running.address}:${flags.port ?? running.port}`,
        { hint: 'run `edgecanary registry down` first, then `registry up` with the new address' },
      )
    return running
  }
  return {
    address: flags.address ?? '127.0.0.1',
    port: flags.port ?? saved?.port ?? DEFAULT_REGISTRY_PORT,
  }
}

export function readRegistryState(paths: RegistryPaths): RegistryState | undefined {
  if (!existsSync(paths.stateFile)) return undefined
  try {
    return JSON.parse(readFileSync(paths.stateFile, 'utf8')) as RegistryState
  } catch {
    return undefined
  }
}

/** Whether the registry runs, and where (from its pid and state files). */
export function registryStatus(paths: RegistryPaths): RegistryStatus {
  const pid = livePid(paths.pidFile)
  const state = pid === undefined ? undefined : readRegistryState(paths)
  if (pid === undefined || !state || state.pid !== pid)
    return { running: false, dataDir: paths.data, logFile: paths.logFile }
  return { running: true, ...state, logFile: paths.logFile }
}

/**
 * Serves the registry in this process (`registry up --foreground`): storage in `data/`, the
 * state and pid files written once it listens. A port in use is a usage error.
 */
export async function serveRegistry(
  paths: RegistryPaths,
  where: { address: string; port: number },
): Promise<{ state: RegistryState; registry: EmbeddedRegistry }> {
  mkdirSync(paths.data, { recursive: true, mode: 0o700 })
  const registry = await startRegistry({
    dir: paths.data,
    host: where.address,
    port: where.port,
    pushToken: pushToken(paths),
  }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRINUSE')
      throw new UsageError(`port ${where.port} on ${where.address} is in use`, {
        hint: 'pass another --port, or stop what listens there',
      })
    if (err.code === 'EADDRNOTAVAIL')
      throw new UsageError(`${where.address} is not an address of this machine`, {
        hint: 'pass an address of one of its interfaces (see `ip -brief address`)',
      })
    throw err
  })
  const reach = hostForUrl(reachableAddress(where.address))
  const state: RegistryState = {
    pid: process.pid,
    address: where.address,
    port: registry.port,
    host: `${reach}:${registry.port}`,
    url: `http://${reach}:${registry.port}`,
    dataDir: paths.data,
    startedAt: new Date().toISOString(),
  }
  writeFileSync(paths.stateFile, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 })
  writeFileSync(paths.pidFile, `${process.pid}\n`, { mode: 0o600 })
  return { state, registry }
}

/**
 * Starts `registry up --foreground` detached, logging to `registry.log`, and waits until
 * `GET /v2/` answers. Returns the published state.
 */
export async function startRegistryBackground(opts: {
  paths: RegistryPaths
  entry: string
  where: { address: string; port: number }
  env: NodeJS.ProcessEnv
  timeoutMs?: number
}): Promise<RegistryState> {
  const { paths, where } = opts
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 })
  const logStart = existsSync(paths.logFile) ? readFileSync(paths.logFile).length : 0
  const child = spawnDetached({
    entry: opts.entry,
    args: ['registry', 'up', '--foreground', `--address=${where.address}`, `--port=${where.port}`],
    env: opts.env,
    logFile: paths.logFile,
  })
  const timeoutMs = opts.timeoutMs ?? 15_000
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const code = child.exitCode()
    if (code !== undefined) {
      const log = readFileSync(paths.logFile).subarray(logStart).toString('utf8').trim().split('\n')
      const error = log.find((l) => l.startsWith('Error: '))?.slice('Error: '.length)
      throw new UsageError(
        `the registry exited during start-up (code ${code}): ${error ?? log.at(-1) ?? ''}`,
        {
          hint: `see ${paths.logFile}`,
        },
      )
    }
    const state = readRegistryState(paths)
    if (state?.pid === child.pid && (await answers(state.url))) return state
    await sleep(100)
  }
  process.kill(child.pid, 'SIGTERM')
  throw new UsageError(`the registry did not answer within ${timeoutMs / 1000}s`, {
    hint: `see ${paths.logFile}`,
  })
}

/** Stops the background registry by PID (SIGTERM, SIGKILL after 10 s). False when none ran. */
export async function stopRegistry(paths: RegistryPaths): Promise<{ stopped: boolean; pid?: number }> {
  const pid = livePid(paths.pidFile)
  const stopped = await stopPid(paths.pidFile, 10_000)
  return pid === undefined ? { stopped } : { stopped, pid }
}

/** Removes the pid file of this process (the foreground server on its way out). */
export function removeOwnPid(paths: RegistryPaths): void {
  if (livePid(paths.pidFile) === process.pid) rmSync(paths.pidFile, { force: true })
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) })
    await res.arrayBuffer()
    return res.status === 200
  } catch {
    return false
  }
}
