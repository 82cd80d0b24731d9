import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { waitFor } from './ports.js'

/** Debian's dockerd with its own data root, exec root, pid file and socket; stopped by PID. */
export async function startDockerd(dir: string): Promise<{ socket: string; stop(): Promise<void> }> {
  const d = join(dir, 'dockerd')
  mkdirSync(d, { recursive: true })
  const socket = join(d, 'docker.sock')
  const child: ChildProcess = spawn(
    'dockerd',
    [
      '--storage-driver=vfs',
      '--iptables=false',
      '--bridge=none',
      `--data-root=${join(d, 'data')}`,
      `--exec-root=${join(d, 'exec')}`,
      `--pidfile=${join(d, 'pid')}`,
      `--host=unix://${socket}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  // the end of dockerd's log, so a dockerd that dies or never answers says why
  let log = ''
  child.stderr?.on('data', (c: Buffer) => {
    log = (log + c.toString()).slice(-4000)
  })
  const tail = () => log.trim().split('\n').slice(-8).join('\n') || '(nothing)'
  let ended = false
  const gone = new Promise<never>((_, reject) => {
    child.once('error', (err) => {
      ended = true
      reject(new Error(`cannot start dockerd: ${err.message}`))
    })
    child.once('close', (code, signal) => {
      ended = true
      reject(new Error(`dockerd exited (${signal ?? code}) before it answered; its log ends:\n${tail()}`))
    })
  })
  gone.catch(() => undefined) // a later exit, after dockerd answered, is stop()'s business
  const run = promisify(execFile)
  const ready = waitFor(
    'dockerd',
    async () =>
      ended || // stop polling: `gone` has the reason
      (await run('docker', ['version'], { env: { ...process.env, DOCKER_HOST: `unix://${socket}` } }).catch(
        () => undefined,
      ))
        ? true
        : undefined,
    60_000,
    250,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; dockerd's log ends:\n${tail()}`)
  })
  try {
    await Promise.race([ready, gone])
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill('SIGKILL')
    throw err
  }
  return {
    socket,
    async stop() {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        child.kill('SIGTERM')
        await new Promise((r) => child.on('exit', r))
      }
    },
  }
}
