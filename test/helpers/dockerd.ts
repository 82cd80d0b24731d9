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
    { stdio: 'ignore' },
  )
  const run = promisify(execFile)
  await waitFor(
    'dockerd',
    async () =>
      (await run('docker', ['version'], { env: { ...process.env, DOCKER_HOST: `unix://${socket}` } }).catch(
        () => undefined,
      ))
        ? true
        : undefined,
    60_000,
    250,
  )
  return {
    socket,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await new Promise((r) => child.on('exit', r))
      }
    },
  }
}
