import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync } from 'node:fs'
import { request } from 'node:http'
import { connect } from 'node:net'
import { join } from 'node:path'
import { pullEndpoints, type RegistriesConfig } from '../../core/registry-mirrors.js'
import { ImageNotFoundError, type PulledImage, pullImage } from '../../registry/pull.js'
import { parseImageRef } from '../../registry/reference.js'
import { recordEvent } from '../events.js'
import type { ExecRequest } from '../pod-exec.js'
import { RES } from '../resources.js'
import { timestamp as iso } from '../store.js'
import type { KObject, ObjectStore } from '../types.js'
import {
  appendLog,
  type ContainerSpec,
  type ContainerState,
  hostTool,
  launch,
  type Probe,
  type Running,
  readLog,
  rmTree,
  rotateLog,
  rssBytes,
  signalGroup,
} from './container.js'
import { elfArch, hostArch, launchPlan, parseQuantity } from './elf.js'
import { PodNetwork } from './pod-net.js'
import {
  containerArgv,
  containerEnv,
  containerUser,
  findExecutable,
  imageLookup,
  type SecurityContext,
} from './rootfs.js'

export const PORTS_ANNOTATION = 'sandbox.edgecanary.dev/ports'

export interface WorkerContext {
  store: ObjectStore
  nodeName: string
  arch: string
  workDir: string
  imageCacheDir: string
  /** Registries pulled over plain HTTP besides loopback ones. */
  insecureRegistries: string[]
  backoffBaseMs: number
  pullDelayMs: () => number
  /** When the kubelet's next PLEG relist after `after` happens (ms since the epoch). */
  nextRelist: (after: number) => number
  /** The pod network helper's executable, built on first use (buildPodnet). */
  podnet: () => Promise<string>
  /** The node's image store: what it pulled, by the reference the pod asked for. */
  images: Map<string, PulledImage>
  /** Registry mirrors (k3s registries.yaml) and the embedded registry that serves endpoint-less ones. */
  registries?: RegistriesConfig
  embeddedRegistry?: string
}

/** kubelet's genericPlegRelistPeriod. */
export const RELIST_PERIOD_MS = 1000

/**
 * The first tick of a clock started at `from` with period `period` strictly after `after`.
 *
 *   nextTick(0, 1000, 0) → 1000;  nextTick(0, 1000, 999) → 1000;  nextTick(0, 1000, 1000) → 2000;  nextTick(500, 1000, 100) → 500
 */
export function nextTick(from: number, period: number, after: number): number {
  if (after < from) return from
  return from + (Math.floor((after - from) / period) + 1) * period
}

interface CState {
  spec: ContainerSpec
  state: ContainerState
  lastState?: ContainerState
  ready: boolean
  started: boolean
  restartCount: number
  run?: Running
  pulled?: PulledImage
  logFile: string
  oomKilled?: boolean
  livenessKilled?: boolean
  /** The environment the running instance got (an exec gets the same). */
  env?: Record<string, string>
}

/** Per-pod loopback address: 127.x.y.z from the pod's uid (every 127/8 address is loopback on Linux). */
export function podIpFor(uid: string): string {
  const h = createHash('sha1').update(uid).digest()
  return `127.${1 + (h[0] % 200)}.${h[1]}.${1 + (h[2] % 254)}`
}

/**
 * Kubernetes' crash-loop back-off: the first restart is immediate, then base, 2×base, … up to
 * 300 s (`base` is 10 s in Kubernetes).
 *
 *   crashBackoffMs(1, 10000) → 0;  crashBackoffMs(2, 10000) → 10000;  crashBackoffMs(9, 10000) → 300000
 */
export function crashBackoffMs(restarts: number, base: number): number {
  if (restarts <= 1) return 0
  return Math.min(base * 2 ** (restarts - 2), Math.max(base, 300_000 * (base / 10_000)))
}

/** Runs one pod on one node: pulls, starts, probes, restarts, and terminates its containers. */
export class PodWorker {
  readonly uid: string
  readonly ns: string
  readonly name: string
  ports: Record<string, number> = {}
  readonly podIP: string
  private containers: CState[] = []
  private stopping = false
  private wake = new Set<() => void>()
  private startTime = iso()
  /** When the pod was admitted: the probe workers' tickers run from here, as the kubelet's do. */
  private readonly admittedAt = Date.now()
  private done?: Promise<void>
  /** The pod's network namespace and its forwarders. */
  net: PodNetwork
  private readonly podDir: string
  private readonly podSecurity: SecurityContext
  private readonly emptyDirs: Set<string>

  constructor(
    private readonly ctx: WorkerContext,
    pod: KObject,
  ) {
    this.uid = pod.metadata.uid ?? ''
    this.ns = pod.metadata.namespace ?? 'default'
    this.name = pod.metadata.name
    this.podIP = podIpFor(this.uid)
    this.podDir = join(ctx.workDir, 'pods', this.uid)
    const podSpec = pod.spec as {
      securityContext?: SecurityContext
      volumes?: { name: string; emptyDir?: object }[]
    }
    this.podSecurity = podSpec.securityContext ?? {}
    this.emptyDirs = new Set((podSpec.volumes ?? []).filter((v) => v.emptyDir).map((v) => v.name))
    this.net = this.newNetwork()
    const specs = ((pod.spec as { containers?: ContainerSpec[] }).containers ?? []) as ContainerSpec[]
    this.containers = specs.map((spec) => ({
      spec,
      state: { waiting: { reason: 'ContainerCreating' } },
      ready: false,
      started: false,
      restartCount: 0,
      logFile: join(ctx.workDir, 'pods', this.uid, `${spec.name}.log`),
    }))
  }

  private newNetwork(): PodNetwork {
    return new PodNetwork({
      podIP: this.podIP,
      uid: this.uid,
      workDir: this.ctx.workDir,
      env: { POD_NAME: this.name, POD_NAMESPACE: this.ns, EDGECANARY_POD_DIR: this.podDir },
      helper: this.ctx.podnet,
      onPorts: (host) => this.publishPorts(host),
    })
  }

  /**
   * Grace a liveness kill gives the container, as the kubelet does: the probe's own
   * terminationGracePeriodSeconds, else the pod's, else 30 s.
   */
  private livenessGraceSeconds(probe: Probe): number {
    const p = this.ctx.store.get(RES.pods, this.ns, this.name)
    const own = (probe as { terminationGracePeriodSeconds?: number }).terminationGracePeriodSeconds
    return (
      own ??
      (p?.spec as { terminationGracePeriodSeconds?: number } | undefined)?.terminationGracePeriodSeconds ??
      30
    )
  }

  get restartPolicy(): string {
    const p = this.ctx.store.get(RES.pods, this.ns, this.name)
    return (p?.spec as { restartPolicy?: string } | undefined)?.restartPolicy ?? 'Always'
  }

  logFileOf(container?: string): string | undefined {
    return (this.containers.find((c) => !container || c.spec.name === container) ?? this.containers[0])
      ?.logFile
  }

  isRunning(): boolean {
    return this.containers.some((c) => 'running' in c.state)
  }

  async start(): Promise<void> {
    // the kubelet sees the pod in the scheduler's own write (a synchronous watch): let the
    // scheduler finish its status write and event before the kubelet writes the pod
    await new Promise<void>((resolve) => setImmediate(resolve))
    // each pod has its own network namespace: a container port is the port itself
    for (const c of this.containers) {
      for (const p of c.spec.ports ?? []) {
        this.ports[String(p.containerPort)] = p.containerPort
        if (p.name) this.ports[p.name] = p.containerPort
      }
    }
    const pod = this.ctx.store.get(RES.pods, this.ns, this.name)
    if (!pod || pod.metadata.uid !== this.uid) return
    this.ctx.store.update(RES.pods, {
      ...pod,
      metadata: {
        ...pod.metadata,
        resourceVersion: undefined,
        annotations: { ...pod.metadata.annotations, [PORTS_ANNOTATION]: JSON.stringify(this.ports) },
      },
    })
    this.writeStatus()
    // the pod sandbox first, as the kubelet's RunPodSandbox; a failure is retried with back-off
    for (let attempt = 0; ; attempt++) {
      try {
        await this.net.start()
        break
      } catch (err) {
        const message = `Failed to create pod sandbox: ${(err as Error).message}`
        this.event('FailedCreatePodSandBox', message, 'Warning')
        for (const c of this.containers) c.state = { waiting: { reason: 'ContainerCreating', message } }
        this.writeStatus()
        this.net.stop()
        await this.sleep(Math.min(this.ctx.backoffBaseMs * 2 ** attempt, 300_000))
        if (this.stopping) return
        this.net = this.newNetwork()
      }
    }
    for (const v of this.emptyDirs) mkdirSync(join(this.podDir, 'volumes', v), { recursive: true })
    this.done = Promise.all(this.containers.map((c) => this.runContainer(c)))
      .then(() => undefined)
      .finally(() => {
        this.net.stop()
        rmTree(join(this.podDir, 'containers'))
      })
  }

  /**
   * `kubectl exec`: the command in the container's user, mount, PID and network namespaces and
   * root, as its user, through qemu-user when the node emulates; for a TTY in a pseudo-terminal
   * (`podnet pty`) whose size the exec's resize channel sets through the child's fd 3.
   */
  exec(r: ExecRequest): ChildProcess | { error: string } {
    const c = r.container ? this.containers.find((x) => x.spec.name === r.container) : this.containers[0]
    if (!c) return { error: `container ${r.container} is not valid for pod ${this.name}` }
    const init = c.run?.pid ? firstChild(c.run.pid) : undefined
    if (!init || !c.pulled || !c.env) return { error: `container not found ("${c.spec.name}")` }
    const exe = findExecutable(c.pulled.rootfs, r.command[0], c.env.PATH ?? '', '/')
    if ('error' in exe) return { error: `OCI runtime exec failed: exec failed: ${exe.error}` }
    const plan = launchPlan(elfArch(exe.host), this.ctx.arch, hostArch())
    if (plan.run === 'fail')
      return { error: `OCI runtime exec failed: exec ${r.command[0]}: exec format error` }
    const argv = [
      hostTool('nsenter'),
      ...['-t', String(init), '-U', '-m', '-p', '-n', '-r', '-w', '--preserve-credentials', '--'],
      ...(plan.run === 'qemu' ? ['/dev/.qemu'] : []),
      exe.path,
      ...r.command.slice(1),
    ]
    if (!r.tty) return spawn(argv[0], argv.slice(1), { env: c.env })
    // a terminal: the podnet helper's pty, its window size fed on fd 3 (the resize channel)
    const pty = this.net.helperPath
    if (!pty) return { error: 'no terminal helper for this pod' }
    return spawn(pty, ['pty', '--', ...argv], { env: c.env, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] })
  }

  /** SIGTERM, then SIGKILL after `graceSeconds`; resolves when every process is gone. */
  async terminate(graceSeconds: number, force = false): Promise<void> {
    const first = !this.stopping
    this.stopping = true
    for (const w of this.wake) w()
    for (const c of this.containers) c.ready = false
    if (first && !force) {
      const pod = this.ctx.store.get(RES.pods, this.ns, this.name)
      if (pod)
        for (const c of this.containers)
          recordEvent(this.ctx.store, pod, 'Killing', `Stopping container ${c.spec.name}`, {
            component: 'kubelet',
            host: this.ctx.nodeName,
          })
      this.writeStatus()
    }
    if (!this.done) this.net.stop()
    await Promise.all(
      this.containers.map(async (c) => {
        if (!c.run?.pid) return
        signalGroup(c.run.pid, force ? 'SIGKILL' : 'SIGTERM')
        const timer = setTimeout(() => signalGroup(c.run?.pid, 'SIGKILL'), force ? 0 : graceSeconds * 1000)
        await c.run.exited
        clearTimeout(timer)
      }),
    )
    await this.done
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t)
        this.wake.delete(done)
        resolve()
      }
      const t = setTimeout(done, ms)
      this.wake.add(done)
    })
  }

  private event(reason: string, message: string, type: 'Normal' | 'Warning' = 'Normal'): void {
    const pod = this.ctx.store.get(RES.pods, this.ns, this.name)
    if (pod)
      recordEvent(this.ctx.store, pod, reason, message, {
        type,
        component: 'kubelet',
        host: this.ctx.nodeName,
      })
  }

  private async runContainer(c: CState): Promise<void> {
    let pullFailures = 0
    while (!this.stopping) {
      const present = this.ctx.images.get(c.spec.image)
      if (!c.pulled && present && (c.spec.imagePullPolicy ?? 'IfNotPresent') !== 'Always') {
        // the kubelet's IfNotPresent: an image the node has is not asked of the registry again
        c.pulled = present
        this.event('Pulled', `Container image "${c.spec.image}" already present on machine`)
      }
      if (!c.pulled && c.spec.imagePullPolicy === 'Never') {
        // Never: only an image the node has; the kubelet says so and looks again later
        const message = `Container image "${c.spec.image}" is not present with pull policy of Never`
        c.state = { waiting: { reason: 'ErrImageNeverPull', message } }
        this.event('ErrImageNeverPull', message, 'Warning')
        this.writeStatus()
        await this.sleep(Math.min(this.ctx.backoffBaseMs * 2 ** pullFailures++, 300_000))
        continue
      }
      if (!c.pulled) {
        this.event('Pulling', `Pulling image "${c.spec.image}"`)
        const t0 = Date.now()
        try {
          const delay = this.ctx.pullDelayMs()
          if (delay > 0) await this.sleep(delay)
          c.pulled = await pullImage(c.spec.image, {
            platform: { os: 'linux', architecture: this.ctx.arch },
            cacheDir: this.ctx.imageCacheDir,
            insecure: this.ctx.insecureRegistries.includes(parseImageRef(c.spec.image).registry),
            endpoints: this.ctx.registries
              ? pullEndpoints(c.spec.image, this.ctx.registries, this.ctx.embeddedRegistry)
              : undefined,
          })
          this.ctx.images.set(c.spec.image, c.pulled)
          this.event('Pulled', `Successfully pulled image "${c.spec.image}" in ${Date.now() - t0}ms`)
        } catch (err) {
          pullFailures++
          const why = err instanceof ImageNotFoundError ? `${err.message}` : (err as Error).message
          c.state = {
            waiting: {
              reason: 'ErrImagePull',
              message: `failed to pull and unpack image "${c.spec.image}": ${why}`,
            },
          }
          this.event('Failed', `Failed to pull image "${c.spec.image}": ${why}`, 'Warning')
          this.writeStatus()
          await this.sleep(Math.min(1000, this.ctx.backoffBaseMs))
          if (this.stopping) break
          c.state = {
            waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.spec.image}"` },
          }
          this.event('BackOff', `Back-off pulling image "${c.spec.image}"`)
          this.writeStatus()
          await this.sleep(Math.min(this.ctx.backoffBaseMs * 2 ** (pullFailures - 1), 300_000))
          continue
        }
      }
      const img = c.pulled
      if (c.restartCount > 0) rotateLog(c.logFile)
      const env = containerEnv(img.config.Env, [
        { name: 'HOSTNAME', value: this.name },
        { name: 'POD_NAME', value: this.name },
        { name: 'POD_NAMESPACE', value: this.ns },
        { name: 'POD_IP', value: this.podIP },
        ...(c.spec.env ?? []),
      ])
      const user = containerUser(
        c.spec.securityContext ?? {},
        this.podSecurity,
        img.config.User,
        imageLookup(img.rootfs),
      )
      const startedAt = iso()
      c.oomKilled = false
      c.livenessKilled = false
      const started =
        'error' in user
          ? { config: user.error }
          : this.net.pausePid === undefined
            ? { error: 'the pod has no network namespace' }
            : launch({
                rootfs: img.rootfs,
                argv: containerArgv(c.spec, img.config),
                workingDir: c.spec.workingDir || img.config.WorkingDir || '/',
                env,
                nodeArch: this.ctx.arch,
                logFile: c.logFile,
                containerDir: join(this.podDir, 'containers', c.spec.name),
                user,
                netPid: this.net.pausePid,
                volumes: (c.spec.volumeMounts ?? [])
                  .filter((m) => this.emptyDirs.has(m.name))
                  .map((m) => ({ host: join(this.podDir, 'volumes', m.name), path: m.mountPath })),
              })
      if ('config' in started || 'error' in started) {
        // the kubelet's CreateContainerConfigError / CreateContainerError: nothing ran, retried with back-off
        const reason = 'config' in started ? 'CreateContainerConfigError' : 'CreateContainerError'
        const message = 'config' in started ? started.config : started.error
        c.state = { waiting: { reason, message } }
        this.event('Failed', `Error: ${message}`, 'Warning')
        this.writeStatus()
        await this.sleep(Math.min(this.ctx.backoffBaseMs * 2 ** pullFailures++, 300_000))
        continue
      }
      c.run = started
      c.env = env
      c.state = { running: { startedAt } }
      c.started = true
      c.ready = !c.spec.readinessProbe
      this.event('Created', `Created container ${c.spec.name}`)
      this.net.quicken()
      this.event('Started', `Started container ${c.spec.name}`)
      this.writeStatus()
      const alive = { value: true }
      const watchers = [
        this.probeLoop(c, 'readiness', c.spec.readinessProbe, alive),
        this.probeLoop(c, 'liveness', c.spec.livenessProbe, alive),
        this.oomLoop(c, alive),
      ]
      const result = await c.run.exited
      alive.value = false
      for (const w of this.wake) w()
      await Promise.all(watchers)
      c.ready = false
      const ranMs = Date.now() - Date.parse(startedAt)
      const reason = c.oomKilled ? 'OOMKilled' : result.code === 0 ? 'Completed' : 'Error'
      const tail = readLog(c.logFile).trim().split('\n').slice(-1)[0] ?? ''
      c.state = {
        terminated: {
          exitCode: c.oomKilled ? 137 : result.code,
          reason,
          ...(reason === 'Error' && /exec format error|no such file/.test(tail) ? { message: tail } : {}),
          startedAt,
          finishedAt: iso(),
        },
      }
      c.run = undefined
      this.writeStatus()
      if (this.stopping) break
      const policy = this.restartPolicy
      if (policy === 'Never' || (policy === 'OnFailure' && result.code === 0)) break
      c.lastState = c.state
      c.restartCount = ranMs > 600_000 ? 1 : c.restartCount + 1
      const delay = crashBackoffMs(c.restartCount, this.ctx.backoffBaseMs)
      if (delay > 0) {
        c.state = {
          waiting: {
            reason: 'CrashLoopBackOff',
            message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${c.spec.name} pod=${this.name}_${this.ns}(${this.uid})`,
          },
        }
        this.event('BackOff', 'Back-off restarting failed container', 'Warning')
        this.writeStatus()
        await this.sleep(delay)
      }
    }
  }

  private async probeLoop(
    c: CState,
    kind: 'readiness' | 'liveness',
    probe: Probe | undefined,
    alive: { value: boolean },
  ): Promise<void> {
    if (!probe) return
    const period = (probe.periodSeconds ?? 10) * 1000
    // The kubelet's readiness worker: it probes a container only once the kubelet has seen it
    // running, at the next PLEG relist after the start; the pod sync that follows triggers a probe
    // at once (prober_manager UpdatePodStatus: "Trigger an immediate run of the readinessProbe"),
    // and the first result (its initial Failure) triggers one more. Then the worker's ticker,
    // which runs from pod admission, decides.
    const triggered = kind === 'readiness' && !probe.initialDelaySeconds
    if (triggered) await this.sleep(Math.max(0, this.ctx.nextRelist(Date.now()) - Date.now()))
    else await this.sleep((probe.initialDelaySeconds ?? 0) * 1000)
    let retryNow = triggered
    let ok = 0
    let bad = 0
    while (alive.value && !this.stopping) {
      const result = await this.check(probe)
      if (!alive.value || this.stopping) return
      if (result.ok) {
        ok++
        bad = 0
        if (kind === 'readiness' && !c.ready && ok >= (probe.successThreshold ?? 1)) {
          c.ready = true
          this.writeStatus()
        }
      } else {
        bad++
        ok = 0
        const label = kind === 'readiness' ? 'Readiness' : 'Liveness'
        this.event('Unhealthy', `${label} probe failed: ${result.why}`, 'Warning')
        if (bad >= (probe.failureThreshold ?? 3)) {
          if (kind === 'readiness' && c.ready) {
            c.ready = false
            this.writeStatus()
          }
          if (kind === 'liveness') {
            this.event('Killing', `Container ${c.spec.name} failed liveness probe, will be restarted`)
            c.livenessKilled = true
            signalGroup(c.run?.pid, 'SIGTERM')
            const pid = c.run?.pid
            setTimeout(() => signalGroup(pid, 'SIGKILL'), this.livenessGraceSeconds(probe) * 1000).unref()
            return
          }
        }
      }
      if (retryNow && !result.ok) {
        retryNow = false
        continue
      }
      retryNow = false
      await this.sleep(triggered ? nextTick(this.admittedAt, period, Date.now()) - Date.now() : period)
    }
  }

  private check(probe: Probe): Promise<{ ok: boolean; why?: string }> {
    const portRef = probe.httpGet?.port ?? probe.tcpSocket?.port
    const port = this.ports[String(portRef)] ?? Number(portRef)
    // what listens in the pod's namespace now gets its host-side forwarder before the probe; a
    // port that has one already needs no scan (if the app stopped listening, the forwarder's
    // connection is refused, which is the probe's answer)
    const ready =
      this.net.hostPort(port) === undefined ? this.net.refresh().catch(() => undefined) : Promise.resolve()
    // messages name the container port as the kubelet does: a named port resolved to its number
    const named = this.containers
      .flatMap((c) => c.spec.ports ?? [])
      .find((p) => p.name !== undefined && p.name === portRef)
    const shown = named?.containerPort ?? portRef ?? port
    const timeout = (probe.timeoutSeconds ?? 1) * 1000
    return ready.then(() => {
      const host = this.net.hostPort(port)
      if (host !== undefined) return this.probe(probe, host, shown, timeout)
      // nothing listens on that port in the pod (never dial podIP:port: a program on the host may own it)
      const dial = `dial tcp ${this.podIP}:${shown}: connect: connection refused`
      return {
        ok: false,
        why: probe.httpGet
          ? `Get "http://${this.podIP}:${shown}${probe.httpGet.path ?? '/'}": ${dial}`
          : dial,
      }
    })
  }

  /** The host port reaching a port of the pod (a number or a declared port's name), once something listens on it. */
  hostPortOf(ref?: string): number | undefined {
    if (ref === undefined) {
      const first = Object.values(this.ports)[0] ?? this.net.ports()[0]
      return first === undefined ? undefined : this.net.hostPort(first)
    }
    const port = this.ports[ref] ?? (/^\d+$/.test(ref) ? Number(ref) : undefined)
    return port === undefined ? undefined : this.net.hostPort(port)
  }

  /** Publishes the pod's ports → host ports for Endpoints (the ports annotation), names included. */
  private publishPorts(host: Record<string, number>): void {
    const map: Record<string, number> = { ...this.ports, ...host }
    for (const [name, port] of Object.entries(this.ports))
      if (host[String(port)] !== undefined) map[name] = host[String(port)]
    const pod = this.ctx.store.get(RES.pods, this.ns, this.name)
    if (!pod || pod.metadata.uid !== this.uid || pod.metadata.deletionTimestamp) return
    try {
      this.ctx.store.update(RES.pods, {
        ...pod,
        metadata: {
          ...pod.metadata,
          resourceVersion: undefined,
          annotations: { ...pod.metadata.annotations, [PORTS_ANNOTATION]: JSON.stringify(map) },
        },
      })
    } catch {}
  }

  private probe(
    probe: Probe,
    port: number,
    shown: number | string,
    timeout: number,
  ): Promise<{ ok: boolean; why?: string }> {
    return new Promise((resolve) => {
      if (probe.tcpSocket) {
        const s = connect({ host: this.podIP, port, timeout }, () => {
          s.destroy()
          resolve({ ok: true })
        })
        s.on('error', (e) => resolve({ ok: false, why: `dial tcp ${this.podIP}:${shown}: ${e.message}` }))
        s.on('timeout', () => {
          s.destroy()
          resolve({ ok: false, why: 'timeout' })
        })
        return
      }
      const path = probe.httpGet?.path ?? '/'
      const req = request(
        {
          host: this.podIP,
          port,
          path,
          timeout,
          agent: false,
          headers: { 'user-agent': 'kube-probe/1.32' },
        },
        (res) => {
          res.resume()
          const code = res.statusCode ?? 0
          resolve(
            code >= 200 && code < 400
              ? { ok: true }
              : { ok: false, why: `HTTP probe failed with statuscode: ${code}` },
          )
        },
      )
      req.on('timeout', () =>
        req.destroy(new Error('context deadline exceeded (Client.Timeout exceeded while awaiting headers)')),
      )
      req.on('error', (e) =>
        resolve({ ok: false, why: `Get "http://${this.podIP}:${shown}${path}": ${e.message}` }),
      )
      req.end()
    })
  }

  private async oomLoop(c: CState, alive: { value: boolean }): Promise<void> {
    const limit = parseQuantity(c.spec.resources?.limits?.memory)
    if (!limit) return
    while (alive.value && !this.stopping) {
      if (rssBytes(c.run?.pid) > limit) {
        c.oomKilled = true
        appendLog(
          c.logFile,
          `Memory cgroup out of memory: Killed process (limit ${c.spec.resources?.limits?.memory})`,
        )
        signalGroup(c.run?.pid, 'SIGKILL')
        return
      }
      await this.sleep(250)
    }
  }

  /** Writes the pod's status as the kubelet reports it, keeping conditions it does not own (readiness gates). */
  writeStatus(): void {
    const pod = this.ctx.store.get(RES.pods, this.ns, this.name)
    if (!pod || pod.metadata.uid !== this.uid) return
    const prev = (pod.status ?? {}) as {
      conditions?: { type: string; status: string; lastTransitionTime?: string }[]
      phase?: string
    }
    const prevConds = prev.conditions ?? []
    const gates = ((pod.spec as { readinessGates?: { conditionType: string }[] }).readinessGates ?? []).map(
      (g) => g.conditionType,
    )
    const containersReady = this.containers.every((c) => c.ready)
    const gatesOk = gates.every((g) => prevConds.some((c) => c.type === g && c.status === 'True'))
    const cond = (type: string, ok: boolean, reason?: string) => {
      const before = prevConds.find((c) => c.type === type)
      const status = ok ? 'True' : 'False'
      return {
        type,
        status,
        lastTransitionTime:
          before?.status === status && before.lastTransitionTime ? before.lastTransitionTime : iso(),
        ...(reason && !ok ? { reason } : {}),
      }
    }
    const anyStarted = this.containers.some((c) => c.started)
    const allTerminated = this.containers.every((c) => 'terminated' in c.state)
    const policy = (pod.spec as { restartPolicy?: string }).restartPolicy ?? 'Always'
    let phase = anyStarted ? 'Running' : 'Pending'
    if (allTerminated && policy !== 'Always' && !this.stopping) {
      phase = this.containers.every((c) => 'terminated' in c.state && c.state.terminated.exitCode === 0)
        ? 'Succeeded'
        : 'Failed'
    }
    const owned = new Set([
      'PodReadyToStartContainers',
      'Initialized',
      'ContainersReady',
      'Ready',
      'PodScheduled',
    ])
    const conditions = [
      cond('PodReadyToStartContainers', true),
      cond('Initialized', true),
      cond(
        'Ready',
        containersReady && gatesOk && !this.stopping,
        gatesOk ? 'ContainersNotReady' : 'ReadinessGatesNotReady',
      ),
      cond('ContainersReady', containersReady && !this.stopping, 'ContainersNotReady'),
      cond('PodScheduled', true),
      ...prevConds.filter((c) => !owned.has(c.type)),
    ]
    const status = {
      phase,
      conditions,
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIP: this.podIP,
      podIPs: [{ ip: this.podIP }],
      startTime: this.startTime,
      qosClass: 'BestEffort',
      containerStatuses: this.containers.map((c) => ({
        name: c.spec.name,
        state: c.state,
        lastState: c.lastState ?? {},
        ready: c.ready && !this.stopping,
        restartCount: c.restartCount,
        image: c.spec.image,
        imageID: c.pulled ? `${c.spec.image.split('@')[0].replace(/:[^/:]+$/, '')}@${c.pulled.digest}` : '',
        started: 'running' in c.state,
        ...(c.started
          ? {
              containerID: `containerd://${createHash('sha256').update(`${this.uid}/${c.spec.name}/${c.restartCount}`).digest('hex')}`,
            }
          : {}),
      })),
    }
    try {
      this.ctx.store.updateStatus(RES.pods, {
        ...pod,
        metadata: { ...pod.metadata, resourceVersion: undefined },
        status,
      })
    } catch {}
  }
}

/** The first child of a process (a container wrapper's: the container's PID 1). */
function firstChild(pid: number): number | undefined {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
    return kids ? Number(kids.split(/\s+/)[0]) : undefined
  } catch {
    return undefined
  }
}
