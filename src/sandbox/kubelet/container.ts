import { type ChildProcess, spawn } from 'node:child_process'
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { join, posix } from 'node:path'
import { elfArch, hostArch, launchPlan } from './elf.js'
import { findExecutable, resolveInRoot } from './rootfs.js'

export interface ContainerSpec {
  name: string
  image: string
  imagePullPolicy?: string
  command?: string[]
  args?: string[]
  env?: { name: string; value?: string }[]
  ports?: { containerPort: number; name?: string }[]
  workingDir?: string
  securityContext?: { runAsUser?: number; runAsGroup?: number; runAsNonRoot?: boolean }
  volumeMounts?: { name: string; mountPath: string }[]
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
  /** The image's root filesystem (the read-only lower layer). */
  rootfs: string
  /** Command and arguments, combined from the pod spec and the image (containerArgv). */
  argv: string[]
  workingDir: string
  env: Record<string, string>
  nodeArch: string
  logFile: string
  /** A directory of this container's own: its writable layer goes there. */
  containerDir: string
  user: { uid: number; gid: number }
  /** A process in the pod's user and network namespaces (PodNetwork.pausePid). */
  netPid: number
  /** emptyDir volumes: a host directory shared by the pod's containers, and where it is mounted. */
  volumes: { host: string; path: string }[]
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

// Runs inside the container's new mount and PID namespaces (as root of the pod's user
// namespace, host tools still visible): the image as an overlay lower layer under a fresh
// writable layer, /dev with the harmless devices, /proc, qemu-user when the node emulates,
// emptyDir volumes; then a nested user namespace maps the container's uid/gid and chroots.
const CONTAINER_SCRIPT = `set -e
cpath=$PATH
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
unshare=$1; shift
lower=$1 upper=$2 work=$3 root=$4 wd=$5 uid=$6 gid=$7 qemu=$8 n=$9
shift 9
if ! mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$root" 2>/dev/null; then
  # overlayfs refused here (seen in the bootstrap tests' nested mount namespaces): the container
  # gets a private copy of the image instead, writable and its own as with the overlay
  cp -a "$lower/." "$upper/"
  mount --bind "$upper" "$root"
fi
mkdir -p "$root/dev" "$root/proc"
mount -t tmpfs -o mode=755,size=64k tmpfs "$root/dev"
for d in null zero full random urandom tty; do touch "$root/dev/$d"; mount --bind "/dev/$d" "$root/dev/$d"; done
mkdir "$root/dev/shm" && mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
mount -t proc proc "$root/proc"
if [ -n "$qemu" ]; then touch "$root/dev/.qemu"; mount --bind "$qemu" "$root/dev/.qemu"; fi
while [ "$n" -gt 0 ]; do mkdir -p "$root$2"; mount --bind "$1" "$root$2"; shift 2; n=$((n-1)); done
mkdir -p "$root$wd"
PATH=$cpath
exec "$unshare" --user --map-user="$uid" --map-group="$gid" --root="$root" --wd="$wd" -- "$@"
`

/**
 * Where a mount point or working directory lands in the image: the existing part of `path`
 * with its symlinks resolved inside the root (so a later mkdir never follows a link out of
 * it), the missing rest appended.
 */
function mountPoint(root: string, path: string): string | undefined {
  const parts = posix.normalize(`/${path}`).split('/').filter(Boolean)
  for (let i = parts.length; i >= 0; i--) {
    const r = resolveInRoot(root, `/${parts.slice(0, i).join('/')}`)
    if (!r) continue
    if (!r.stat.isDirectory()) return undefined
    return posix.join(r.inside, ...parts.slice(i))
  }
  return undefined
}

/**
 * The absolute path of a host tool (util-linux, qemu-user, socat): the container's own PATH
 * is in the environment of the processes that start it, so nothing may be looked up there.
 */
export function hostTool(cmd: string): string {
  const dirs = [
    ...(process.env.PATH ?? '').split(':'),
    '/usr/local/bin',
    '/usr/bin',
    '/bin',
    '/usr/sbin',
    '/sbin',
  ]
  for (const d of dirs) {
    if (!d.startsWith('/')) continue
    const f = join(d, cmd)
    if (existsSync(f)) return f
  }
  return cmd
}

/**
 * Starts a container as a rootless container: in the pod's user and network namespaces, its
 * own mount and PID namespaces, the image's root filesystem as `/` with a fresh writable layer
 * over it, as the image's (or securityContext's) user, natively or through qemu-user for a
 * foreign architecture the node emulates. A binary of another architecture than the node's
 * "starts" and exits 1 with `exec format error`, as on a real node. A command that is no
 * executable in the image (missing, a directory) gives `{ error }`: CreateContainerError.
 * The process gets `setpriv --pdeathsig KILL`, so a killed sandbox leaves no orphans, and its
 * own process group.
 */
export function launch(l: Launch): Running | { error: string } {
  mkdirSync(join(l.logFile, '..'), { recursive: true })
  if (l.argv.length === 0) return { error: 'no command specified' }
  const wd = mountPoint(l.rootfs, l.workingDir)
  if (!wd) return { error: `working directory ${l.workingDir} is not a directory in the image` }
  const exe = findExecutable(l.rootfs, l.argv[0], l.env.PATH ?? '', wd)
  if ('error' in exe) return exe
  const plan = launchPlan(elfArch(exe.host), l.nodeArch, hostArch())
  if (plan.run === 'fail') {
    appendLog(l.logFile, `exec ${l.argv[0]}: exec format error`)
    return { exited: Promise.resolve({ code: 1 }) }
  }
  const volumes: string[] = []
  for (const v of l.volumes) {
    const at = mountPoint(l.rootfs, v.path)
    if (!at) return { error: `mount point ${v.path} is not a directory in the image` }
    volumes.push(v.host, at)
  }
  // a fresh writable layer per start, as a restarted container is a new container
  rmTree(l.containerDir)
  const [upper, work, merged] = ['upper', 'work', 'merged'].map((d) => join(l.containerDir, d))
  for (const d of [upper, work, merged]) mkdirSync(d, { recursive: true })
  const inside = plan.run === 'qemu' ? ['/dev/.qemu', exe.path] : [exe.path]
  const unshare = hostTool('unshare')
  const child = spawn(
    hostTool('nsenter'),
    [
      '-t',
      String(l.netPid),
      '-U',
      '-n',
      '--preserve-credentials',
      '--',
      hostTool('setpriv'),
      '--pdeathsig',
      'KILL',
      '--',
      unshare,
      '--mount',
      '--pid',
      '--fork',
      '--kill-child',
      '--',
      '/bin/sh',
      '-c',
      CONTAINER_SCRIPT,
      'sh',
      unshare,
      l.rootfs,
      upper,
      work,
      merged,
      wd,
      String(l.user.uid),
      String(l.user.gid),
      plan.run === 'qemu' ? hostTool(plan.qemu) : '',
      String(l.volumes.length),
      ...volumes,
      ...inside,
      ...l.argv.slice(1),
    ],
    { env: l.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  )
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

/** Removes a container directory; overlayfs leaves a mode-000 `work/work` the owner must open first. */
export function rmTree(dir: string): void {
  try {
    chmodSync(join(dir, 'work', 'work'), 0o700)
  } catch {}
  try {
    rmSync(dir, { recursive: true, force: true })
  } catch {}
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

/** Resident memory of a process and all its descendants in bytes (VmRSS), or 0 when gone. */
export function rssBytes(pid: number | undefined): number {
  if (!pid) return 0
  let total = 0
  const todo = [pid]
  for (let i = 0; i < todo.length && i < 1000; i++) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${todo[i]}/status`, 'utf8'))
      total += m ? Number(m[1]) * 1024 : 0
      const kids = readFileSync(`/proc/${todo[i]}/task/${todo[i]}/children`, 'utf8').trim()
      if (kids) todo.push(...kids.split(/\s+/).map(Number))
    } catch {}
  }
  return total
}
