import { type ChildProcess, spawn } from 'node:child_process'
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { elfArch, hostArch, launchPlan } from './elf.js'

export interface ContainerSpec {
  name: string
  image: string
  imagePullPolicy?: string
  command?: string[]
  args?: string[]
  env?: { name: string; value?: string }[]
  ports?: { containerPort: number; name?: string }[]
  readinessProbe?: Probe
  livenessProbe?: Probe
  resources?: { limits?: { memory?: string } }
}

export interface Probe {
  httpGet?: { path?: string; port: number | string }
  tcpSocket?: { port: number | string }
  initialDelaySeconds?: number
  periodSeconds?: number
  timeoutSeconds?: number
  successThreshold?: number
  failureThreshold?: number
}

export type ContainerState =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt: string } }
  | {
      terminated: {
        exitCode: number
        reason: string
        message?: string
        startedAt?: string
        finishedAt: string
      }
    }

export interface Launch {
  rootfs: string
  entrypoint: string[]
  cmd: string[]
  workingDir: string
  env: Record<string, string>
  nodeArch: string
  logFile: string
}

export interface Running {
  child?: ChildProcess
  pid?: number
  /** Resolves with the exit code (137 for SIGKILL) once the process is gone. */
  exited: Promise<{ code: number; signal?: string }>
}

/** Writes a log line as containerd does: the container's output, one line per write. */
export function appendLog(file: string, text: string): void {
  appendFileSync(file, text.endsWith('\n') ? text : `${text}\n`)
}

/** Moves the current log aside as the previous instance's (`kubectl logs --previous`). */
export function rotateLog(file: string): void {
  if (existsSync(file)) renameSync(file, `${file}.previous`)
}

export function readLog(file: string, previous = false): string {
  const f = previous ? `${file}.previous` : file
  return existsSync(f) ? readFileSync(f, 'utf8') : ''
}

/**
 * Starts the container's entrypoint as a real process: natively, or through qemu-user for a
 * foreign architecture the node emulates; a binary of another architecture than the node's
 * "starts" and exits 1 with `exec format error`, as on a real node. The process gets
 * `setpriv --pdeathsig KILL`, so a killed sandbox leaves no orphans, and its own process group.
 */
export function launch(l: Launch): Running {
  mkdirSync(join(l.logFile, '..'), { recursive: true })
  const argv = [...l.entrypoint, ...l.cmd]
  if (argv.length === 0) {
    appendLog(l.logFile, 'no command specified')
    return { exited: Promise.resolve({ code: 128 }) }
  }
  const exe = argv[0]
  const path = exe.startsWith('/') ? join(l.rootfs, exe) : join(l.rootfs, l.workingDir, exe)
  if (!existsSync(path)) {
    appendLog(l.logFile, `exec ${exe}: no such file or directory`)
    return { exited: Promise.resolve({ code: 128 }) }
  }
  const plan = launchPlan(elfArch(path), l.nodeArch, hostArch())
  if (plan.run === 'fail') {
    appendLog(l.logFile, `exec ${exe}: exec format error`)
    return { exited: Promise.resolve({ code: 1 }) }
  }
  const cmd = plan.run === 'qemu' ? [plan.qemu, path, ...argv.slice(1)] : [path, ...argv.slice(1)]
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', ...cmd], {
    cwd: join(l.rootfs, l.workingDir),
    env: l.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const write = (d: Buffer) => appendFileSync(l.logFile, d)
  child.stdout?.on('data', write)
  child.stderr?.on('data', write)
  const exited = new Promise<{ code: number; signal?: string }>((resolve) => {
    child.on('error', (err) => {
      appendLog(l.logFile, `failed to start: ${err.message}`)
      resolve({ code: 128 })
    })
    child.on('exit', (code, signal) =>
      resolve({
        code: code ?? (signal === 'SIGKILL' ? 137 : signal === 'SIGTERM' ? 143 : 1),
        signal: signal ?? undefined,
      }),
    )
  })
  return { child, pid: child.pid, exited }
}

/** Signals the whole process group of a container. */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return
  try {
    process.kill(-pid, signal)
  } catch {
    try {
      process.kill(pid, signal)
    } catch {}
  }
}

/** Resident memory of a process in bytes (VmRSS), or 0 when it is gone. */
export function rssBytes(pid: number | undefined): number {
  if (!pid) return 0
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : 0
  } catch {
    return 0
  }
}
