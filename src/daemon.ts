import { spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs'
import { dirname } from 'node:path'

/**
 * Background processes that edgecanary starts and stops by PID (the sandbox, the registry):
 * detached, logging to a file, found again through a pid file.
 */

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** PID in `pidFile` if that process lives; a stale or unreadable file counts as none. */
export function livePid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined
  const pid = Number(readFileSync(pidFile, 'utf8').trim())
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  return isAlive(pid) ? pid : undefined
}

export interface DetachedChild {
  pid: number
  /** The exit code once the process has ended (null: killed by a signal), else undefined. */
  exitCode(): number | null | undefined
}

// Defined (true) by scripts/build-sea.mjs in the single-file executable, where process.execPath
// is edgecanary itself; undeclared elsewhere.
declare const __EDGECANARY_SEA__: boolean | undefined

/**
 * How to start edgecanary again with `args`: `node <entry> args`, or in the single-file
 * executable the executable itself with `args` (it has no entry script to pass).
 */
export function selfCommand(entry: string, args: string[]): { file: string; args: string[] } {
  const sea = typeof __EDGECANARY_SEA__ === 'boolean' && __EDGECANARY_SEA__
  return { file: process.execPath, args: sea ? args : [entry, ...args] }
}

/**
 * Starts edgecanary (`node <entry> <args>`, see selfCommand) detached from this process, stdout and
 * stderr appended to `logFile`.
 */
export function spawnDetached(opts: {
  entry: string
  args: string[]
  env: NodeJS.ProcessEnv
  logFile: string
}): DetachedChild {
  mkdirSync(dirname(opts.logFile), { recursive: true, mode: 0o700 })
  const log = openSync(opts.logFile, 'a', 0o600)
  const self = selfCommand(opts.entry, opts.args)
  const child = spawn(self.file, self.args, {
    detached: true,
    stdio: ['ignore', log, log],
    env: opts.env,
  })
  closeSync(log)
  const pid = child.pid
  if (pid === undefined) throw new Error(`could not start ${opts.entry}`)
  let exited: number | null | undefined
  child.on('exit', (code) => {
    exited = code
  })
  child.unref()
  return { pid, exitCode: () => exited }
}

/**
 * Stops the process in `pidFile`: SIGTERM, SIGKILL after `timeoutMs`; removes the pid file.
 * False when nothing was running.
 */
export async function stopPid(pidFile: string, timeoutMs: number): Promise<boolean> {
  const pid = livePid(pidFile)
  if (pid === undefined) {
    rmSync(pidFile, { force: true })
    return false
  }
  process.kill(pid, 'SIGTERM')
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline && isAlive(pid)) await sleep(100)
  if (isAlive(pid)) process.kill(pid, 'SIGKILL')
  for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100)
  rmSync(pidFile, { force: true })
  return true
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
