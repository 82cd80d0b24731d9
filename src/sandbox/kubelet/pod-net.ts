import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hostTool } from './container.js'

/**
 * The ports a network namespace listens on, from its `/proc/<pid>/net/tcp` and `tcp6` text:
 * each LISTEN socket's port with the address family to reach it on the namespace's loopback
 * (IPv4 when any IPv4 socket listens on it).
 *
 *   listeningPorts('  0: 00000000:1F90 00000000:0000 0A …', '') → [{ port: 8080, family: 4 }]
 */
export function listeningPorts(tcp: string, tcp6: string): { port: number; family: 4 | 6 }[] {
  const found = new Map<number, 4 | 6>()
  const scan = (text: string, family: 4 | 6) => {
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f[3] !== '0A') continue
      const port = Number.parseInt(f[1]?.split(':')[1] ?? '', 16)
      if (!Number.isInteger(port) || port <= 0) continue
      if (family === 4 || !found.has(port)) found.set(port, family)
    }
  }
  scan(tcp, 4)
  scan(tcp6, 6)
  return [...found].map(([port, family]) => ({ port, family })).sort((a, b) => a.port - b.port)
}

function findTool(names: string[]): string {
  return names.find((n) => existsSync(n)) ?? names[names.length - 1]
}

/** How long after a container starts its pod's ports are scanned often, and how often. */
const QUICK_WINDOW_MS = 10_000
const QUICK_SCAN_MS = 250
/** Afterwards: probes scan on their own (refresh before each), this catches the rest. */
const SLOW_SCAN_MS = 2_000

/**
 * A pod's network: its own network namespace, held by the pod's `podnet` helper (in a user
 * namespace, loopback up), which serves one UNIX socket; for each port something listens on
 * in the namespace, a listener on the pod's IP (127.x.y.z) on the host forwards connections
 * through that socket, naming the port. So an app's port is reachable at podIP:port from the
 * host, declared or not, and replicas bind the same port. Works for a plain user: no root,
 * no tun device.
 */
export class PodNetwork {
  pausePid?: number
  private pause?: ChildProcess
  /** The podnet executable once started (it is also `kubectl exec -it`'s terminal). */
  helperPath?: string
  private readonly listeners = new Map<number, { servers: Server[]; internalPort?: number }>()
  private timer?: NodeJS.Timeout
  private readonly missing = new Map<number, number>()
  private stopped = false
  private refreshing?: Promise<void>
  private readonly sock: string
  /** What listened in the namespace at the last scan of /proc. */
  private lastPorts: number[] = []
  /** Until then the namespace is scanned every QUICK_SCAN_MS (a container just started), else every SLOW_SCAN_MS. */
  private quickUntil = 0

  constructor(
    private readonly o: {
      podIP: string
      uid: string
      /** The kubelet's work directory (the UNIX socket lives in a short directory derived from it). */
      workDir: string
      /** Environment of the helper process (names the pod, for tools that list them). */
      env: Record<string, string>
      /** The podnet helper's executable (buildPodnet). */
      helper: () => Promise<string>
      /** Called when the ports listening in the pod change, with their host ports. */
      onPorts?: (hostPorts: Record<string, number>) => void
    },
  ) {
    const dir = join(tmpdir(), `ec-${createHash('sha1').update(o.workDir).digest('hex').slice(0, 10)}`)
    this.sock = join(dir, `${createHash('sha1').update(o.uid).digest('hex').slice(0, 12)}.sock`)
  }

  /** Creates the namespace; rejects when user or network namespaces (or the helper) are unavailable. */
  async start(): Promise<void> {
    const helper = await this.o.helper()
    this.helperPath = helper
    if (this.stopped) return
    mkdirSync(join(this.sock, '..'), { recursive: true, mode: 0o700 })
    rmSync(this.sock, { force: true })
    const ip = findTool(['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'])
    const pause = spawn(
      hostTool('unshare'),
      [
        '--user',
        '--map-root-user',
        '--net',
        '--',
        hostTool('setpriv'),
        '--pdeathsig',
        'KILL',
        '--',
        '/bin/sh',
        '-c',
        `${ip} link set lo up && exec "$0" "$1"`,
        helper,
        this.sock,
      ],
      { env: this.o.env, stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    )
    this.pause = pause
    this.pausePid = pause.pid
    let err = ''
    pause.stderr?.on('data', (d: Buffer) => {
      err += d.toString()
    })
    let exited = false
    pause.on('exit', () => {
      exited = true
    })
    pause.on('error', (e) => {
      err += e.message
      exited = true
    })
    for (let i = 0; i < 1000 && !existsSync(this.sock); i++) {
      if (exited)
        throw new Error(`failed to create the pod's network namespace: ${err.trim() || 'unshare failed'}`)
      await new Promise((r) => setTimeout(r, 5))
    }
    if (!existsSync(this.sock)) throw new Error("the pod's network helper did not start")
    this.quicken()
    this.schedule()
  }

  /**
   * Scans often for a while: a container has just started and its app is about to bind its
   * ports. Reading /proc/<pid>/net/tcp walks the kernel's socket table (a few ms of system
   * time each), so 40 pods scanned 4 times a second all the time cost more than a core.
   */
  quicken(): void {
    this.quickUntil = Date.now() + QUICK_WINDOW_MS
  }

  private schedule(): void {
    if (this.stopped) return
    const every = Date.now() < this.quickUntil ? QUICK_SCAN_MS : SLOW_SCAN_MS
    this.timer = setTimeout(() => {
      // a failed scan is tried again at the next tick; it never reaches the sandbox's event loop
      this.refresh()
        .catch(() => undefined)
        .finally(() => this.schedule())
    }, every)
    this.timer.unref?.()
  }

  /** Ports listening in the namespace at the last scan. */
  ports(): number[] {
    return this.lastPorts
  }

  /** Reads the namespace's TCP tables off the event loop. */
  private async scan(): Promise<number[]> {
    const pid = this.pausePid
    if (!pid) return []
    const read = (f: string) => readFile(`/proc/${pid}/net/${f}`, 'utf8').catch(() => '')
    const [tcp, tcp6] = await Promise.all([read('tcp'), read('tcp6')])
    this.lastPorts = listeningPorts(tcp, tcp6).map((p) => p.port)
    return this.lastPorts
  }

  /** Brings the host-side listeners in line with what listens in the namespace now. */
  refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined
    })
    return this.refreshing
  }

  /**
   * The host port that reaches `port` in the pod for sure: a listener on podIP and a port the
   * kernel chose, so no other program on the host can hold it. (podIP:port itself is only
   * best effort: a program listening on *:port on the host owns that address.)
   */
  hostPort(port: number): number | undefined {
    return this.listeners.get(port)?.internalPort
  }

  /** Every port listening in the namespace with its host port (hostPort). */
  hostPorts(): Record<string, number> {
    return Object.fromEntries(
      [...this.listeners].flatMap(([p, l]) => (l.internalPort ? [[String(p), l.internalPort]] : [])),
    )
  }

  private async doRefresh(): Promise<void> {
    if (this.stopped || !this.pausePid) return
    const want = new Set(await this.scan())
    if (this.stopped) return
    let changed = false
    // a port gone in two scans in a row is dropped (one odd read of /proc never remaps a port)
    for (const [port, l] of this.listeners) {
      if (want.has(port)) {
        this.missing.delete(port)
        continue
      }
      const n = (this.missing.get(port) ?? 0) + 1
      this.missing.set(port, n)
      if (n < 2) continue
      this.missing.delete(port)
      this.listeners.delete(port)
      for (const s of l.servers) s.close()
      changed = true
    }
    const fresh = [...want].filter((p) => !this.listeners.has(p))
    await Promise.all(fresh.map((p) => this.add(p)))
    if ((changed || fresh.length > 0) && !this.stopped) this.o.onPorts?.(this.hostPorts())
  }

  private async add(port: number): Promise<void> {
    const onConn = (client: Socket) => {
      const upstream = connect({ path: this.sock }, () => {
        upstream.write(`${port}\n`)
        client.pipe(upstream).pipe(client)
      })
      client.on('error', () => upstream.destroy())
      upstream.on('error', () => client.resetAndDestroy())
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
    }
    const entry: { servers: Server[]; internalPort?: number } = { servers: [] }
    this.listeners.set(port, entry)
    const listen = (at: number) =>
      new Promise<Server | undefined>((resolve) => {
        const server = createServer(onConn)
        server.on('error', () => undefined)
        server.once('error', () => resolve(undefined))
        server.listen(at, this.o.podIP, () => resolve(server))
      })
    const [internal, user] = await Promise.all([listen(0), listen(port)])
    for (const s of [internal, user]) if (s) entry.servers.push(s)
    const addr = internal?.address()
    entry.internalPort = typeof addr === 'object' && addr ? addr.port : undefined
    if (this.stopped || this.listeners.get(port) !== entry) for (const s of entry.servers) s.close()
  }

  /** Ends the helper and the namespace (the pod's containers must be gone or going). */
  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
    for (const l of this.listeners.values()) for (const s of l.servers) s.close()
    this.listeners.clear()
    try {
      if (this.pause?.pid) process.kill(-this.pause.pid, 'SIGKILL')
    } catch {}
    rmSync(this.sock, { force: true })
  }
}
