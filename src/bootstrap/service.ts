import { createHash, randomBytes } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import { adoptK3sKubeconfig } from '../core/kubeconfig.js'
import { sleep } from '../daemon.js'
import { EdgecanaryError, UsageError } from '../errors.js'
import type { Cluster, NodeSummary, Progress, RemoteShell } from '../ports.js'
import { FACTS_COMMAND, parseFacts } from './facts.js'
import { type HostTarget, hostLabel } from './hosts.js'
import {
  cleanupInstallCommand,
  DOWNLOADED_INSTALLER,
  downloadInstallerCommand,
  fixCmdline,
  INSTALL_ENV_FILE,
  INSTALL_UNFINISHED,
  type InstallSource,
  installEnv,
  type RegistryTrust,
  redact,
  registriesYaml,
  runInstallerCommand,
} from './plan.js'
import { type HostFacts, judgeHosts } from './preflight.js'
import { hostTable } from './report.js'

/** How k3s gets onto the hosts: the online installer, or files from the laptop (airgap). */
export type InstallFiles =
  | { kind: 'online'; version?: string; channel?: string }
  | { kind: 'airgap'; binary: Buffer; script: Buffer }

export interface BootstrapDeps {
  /** Opens an SSH session (host key verified); throws a typed error when it cannot. */
  connect(t: HostTarget): Promise<RemoteShell>
  /** A cluster client for a context of a kubeconfig file. */
  cluster(kubeconfig: string, context: string): Cluster
  /** Merges a kubeconfig's entries into the user's kubeconfig as kubectl would, making `context` current (files written 0600). */
  mergeKubeconfig(incoming: string, context: string): void
  /** Removes a context (and its unused cluster and user) from the user's kubeconfig; true when it was there. */
  removeKubeconfigContext(context: string): boolean
  /** The laptop's clock in epoch seconds. */
  nowS(): number
}

export interface BootstrapOptions {
  targets: HostTarget[]
  install: InstallFiles
  /**
   * What registries.yaml tells containerd on every node; none: leave registries.yaml alone.
   * `laptop`: serve the embedded registry on the laptop's LAN address (the local address of
   * the SSH session to the server) and have the nodes pull from it over plain HTTP.
   */
  registry?: RegistryTrust | { laptop: (lanAddress: string) => Promise<string> }
  fixCgroups: boolean
  /** Context name for the merged kubeconfig. */
  context: string
  kubeconfig: string
  /** --dry-run: connect, check host keys, gather facts and judge them (the table), change nothing. */
  preflightOnly?: boolean
  rebootTimeoutMs?: number
  nodesTimeoutMs?: number
  kubeconfigTimeoutMs?: number
}

export type Role = 'server' | 'agent'

export interface HostReport {
  host: string
  role: Role
  hostname?: string
  arch?: string
  os?: string
  memMiB?: number
  diskFreeMiB?: number
  clockSkewS?: number
  /** Where this host got to: the last step it started, or `done`. */
  step: string
  ok: boolean
  /**
   * How the install went on this host: `done`, `failed` (its own error in problems), or
   * `stopped` because another host (`stoppedBy`) failed first; set from the install on.
   */
  outcome?: 'done' | 'failed' | 'stopped'
  stoppedBy?: string
  k3s?: 'installed' | 'already installed'
  cgroups?: 'ok' | 'fixed (rebooted)' | 'no cmdline.txt'
  registries?: 'written' | 'unchanged' | 'not managed'
  problems: string[]
  /** What to do about the problems, when known (a changed host key: `ssh-keygen -R …`). */
  hints: string[]
  warnings: string[]
}

export interface BootstrapResult {
  server: string
  context: string
  kubeconfig: string
  nodes: NodeSummary[]
  hosts: HostReport[]
  /** The registry the nodes trust (HOST:PORT), when this run manages registries.yaml. */
  registry?: string
  /** False when a second run found everything in place and changed nothing on the hosts. */
  changed: boolean
}

/** Some hosts failed after work began (exit 1); details.hosts says where each one got to. */
export class BootstrapFailed extends EdgecanaryError {
  override readonly kind = 'failed'
  override readonly code = 'BOOTSTRAP_FAILED'
}

const K3S_YAML = '/etc/rancher/k3s/k3s.yaml'
const REGISTRIES_YAML = '/etc/rancher/k3s/registries.yaml'
const SERVER_TOKEN = '/var/lib/rancher/k3s/server/token'
const K3S_BIN = '/usr/local/bin/k3s'
const INSTALL_SCRIPT = '/tmp/k3s-install.sh'
const UNINSTALL: Record<Role, string> = {
  server: '/usr/local/bin/k3s-uninstall.sh',
  agent: '/usr/local/bin/k3s-agent-uninstall.sh',
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

interface Host {
  target: HostTarget
  label: string
  role: Role
  shell?: RemoteShell
  facts?: HostFacts
  report: HostReport
  /** While set, every command on this host is ended (on the host) when it fires. */
  signal?: AbortSignal
}

/**
 * `init --hosts`: turns a handful of Pis reachable over SSH into a k3s cluster. In order:
 * connect to every host and gather facts in parallel (one table of verdicts; nothing changes
 * unless every host passes), fix cgroup flags and reboot when asked, write registries.yaml,
 * install the server and the agents in parallel (the join token is made here, on the laptop,
 * so agents need not wait for the server), fetch the server's kubeconfig, merge it as a
 * context, and wait until every host is a Ready node. A second run finds k3s installed and
 * changes nothing. Secrets (join token, sudo password) never appear in messages.
 */
export async function runBootstrap(
  deps: BootstrapDeps,
  progress: Progress,
  o: BootstrapOptions,
): Promise<BootstrapResult> {
  const hosts: Host[] = o.targets.map((target, i) => {
    const role: Role = i === 0 ? 'server' : 'agent'
    const label = hostLabel(target)
    return {
      target,
      label,
      role,
      report: { host: label, role, step: 'connect', ok: true, problems: [], hints: [], warnings: [] },
    }
  })
  const server = hosts[0]
  let token: string | undefined
  const secrets = () => [token]
  const lane = (h: Host, text: string) => {
    h.report.step = text
    progress.lane?.(h.label, `${h.role.padEnd(6)} ${text}`)
  }
  const fail = (h: Host, err: unknown) => {
    h.report.ok = false
    h.report.problems.push(redact(err instanceof Error ? err.message : String(err), secrets()))
    if (err instanceof EdgecanaryError && err.hint) h.report.hints.push(err.hint)
    // step keeps the step that failed
    progress.lane?.(h.label, `${h.role.padEnd(6)} ✖ ${h.report.problems.at(-1)}`)
  }

  try {
    // 1. Connect and gather facts, in parallel. Nothing has changed yet: failures exit 2.
    const pre = progress.step(`preflight on ${hosts.length} host(s)`)
    await Promise.all(
      hosts.map(async (h) => {
        try {
          lane(h, 'connecting')
          h.shell = await deps.connect(h.target)
          lane(h, 'gathering facts')
          h.facts = await gatherFacts(h, deps)
          await checkSudo(h)
          lane(h, 'preflight done')
        } catch (err) {
          fail(h, err)
        }
      }),
    )
    const verdicts = judgeHosts(
      hosts.flatMap((h) => (h.facts ? [h.facts] : [])),
      { fixCgroups: o.fixCgroups },
    )
    for (const h of hosts) {
      const v = verdicts.find((x) => x.host === h.label)
      if (h.facts) Object.assign(h.report, factsReport(h.facts))
      if (v) {
        h.report.arch = v.arch
        h.report.warnings.push(...v.warnings)
        if (!v.ok) {
          h.report.ok = false
          h.report.problems.push(...v.problems)
        }
      }
      if (h.facts?.installUnfinished)
        h.report.warnings.push('an earlier install here did not finish: it runs again')
      if (h.facts?.installed && h.facts.installed !== h.role) {
        h.report.ok = false
        h.report.problems.push(
          `k3s is installed here as ${h.facts.installed === 'server' ? 'a server' : 'an agent'}, but this run makes it the ${h.role}`,
        )
      }
    }
    for (const line of hostTable(hosts.map((h) => h.report))) progress.note(line)
    const bad = hosts.filter((h) => !h.report.ok)
    if (bad.length > 0) {
      pre.fail(`${bad.length} of ${hosts.length} host(s) failed preflight`)
      throw new UsageError(
        `preflight failed on ${bad.map((h) => `${h.label} (${h.report.problems[0]})`).join('; ')}`,
        {
          hint: `${[...new Set(bad.flatMap((h) => h.report.hints))].map((x) => `${x}; `).join('')}fix what is named${
            bad.some((h) => h.report.problems.some((p) => p.includes('--fix-cgroups')))
              ? ' (--fix-cgroups for cmdline.txt)'
              : ''
          } and run again: nothing was changed`,
          details: { hosts: hosts.map((h) => h.report) },
        },
      )
    }
    pre.done(hosts.map((h) => `${h.report.hostname} ${h.report.arch}`).join(', '))
    if (o.preflightOnly) {
      return {
        server: `https://${server.target.address.includes(':') ? `[${server.target.address}]` : server.target.address}:6443`,
        context: o.context,
        kubeconfig: o.kubeconfig,
        nodes: [],
        hosts: hosts.map((h) => h.report),
        changed: false,
      }
    }

    // 2. cgroup flags: fix and reboot, then look again.
    let changed = false
    const needFix = hosts.filter((h) => h.facts && !h.facts.cmdlineFlags)
    if (needFix.length > 0) {
      const st = progress.step(`enable cgroup memory and reboot ${needFix.length} host(s)`)
      await Promise.all(
        needFix.map(async (h) => {
          try {
            await fixCgroupsAndReboot(h, deps, o.rebootTimeoutMs ?? 300_000, (t) => lane(h, t))
            h.report.cgroups = 'fixed (rebooted)'
            changed = true
          } catch (err) {
            fail(h, err)
          }
        }),
      )
      const failed = needFix.filter((h) => !h.report.ok)
      if (failed.length > 0) {
        st.fail(failed.map((h) => h.label).join(', '))
        throw hostsFailed(hosts, 'fixing cgroup flags')
      }
      st.done()
    }

    // 3. Token: the server's own when k3s already runs there, else a new one made here.
    const existing = server.facts?.installed === 'server'
    if (existing) {
      const r = await mustRun(server, `cat ${SERVER_TOKEN}`, { sudo: true })
      token = r.stdout.trim()
    } else token = randomBytes(24).toString('hex')
    const serverUrl = `https://${server.target.address.includes(':') ? `[${server.target.address}]` : server.target.address}:6443`

    // 4. registries.yaml and k3s on every host, in parallel.
    let trust: RegistryTrust | undefined
    if (o.registry && 'laptop' in o.registry) {
      const lan = shellOf(server).localAddress
      if (!lan)
        throw new UsageError('the laptop’s LAN address is unknown', { hint: 'pass --registry HOST:PORT' })
      const st = progress.step(`registry on the laptop (${lan})`)
      trust = { registry: await o.registry.laptop(lan), http: true }
      st.done(trust.registry)
    } else trust = o.registry
    const inst = progress.step(`install k3s: server ${server.label}, ${hosts.length - 1} agent(s)`)
    const source: InstallSource =
      o.install.kind === 'online'
        ? { kind: 'online', version: o.install.version, channel: o.install.channel }
        : { kind: 'airgap', script: INSTALL_SCRIPT }
    // The first host to fail stops the others: no new step starts anywhere, and the command
    // each one is running (a download, an installer trying to join) is ended on its host, so
    // the run ends in seconds. Nothing already installed is undone.
    const stop = new AbortController()
    // every host's command in flight listens to it (two listeners each): no leak warning for big fleets
    setMaxListeners(10 + 4 * hosts.length, stop.signal)
    let culprit: Host | undefined
    const stopMessage = (h: Host, by: Host) =>
      by.role === 'server' && h.role === 'agent'
        ? `stopped: the k3s server on ${by.label} failed, so this agent cannot join it`
        : `stopped because ${by.label} failed`
    for (const h of hosts) h.signal = stop.signal
    await Promise.all(
      hosts.map(async (h) => {
        const checkpoint = () => {
          if (stop.signal.aborted) throw stop.signal.reason
        }
        try {
          checkpoint()
          if (await writeRegistries(h, trust, (t) => lane(h, t))) changed = true
          checkpoint()
          if (h.facts?.installed === h.role && !h.facts.installUnfinished) {
            h.report.k3s = 'already installed'
            if (h.report.registries === 'written' && h.facts.installed) {
              lane(h, 'restarting k3s for the new registries.yaml')
              await mustRun(
                h,
                `if command -v systemctl >/dev/null 2>&1; then systemctl restart ${h.role === 'server' ? 'k3s' : 'k3s-agent'}; fi`,
                { sudo: true },
              )
            }
            lane(h, 'k3s already installed')
            h.report.outcome = 'done'
            return
          }
          if (o.install.kind === 'airgap') await uploadAirgap(h, o.install, (t) => lane(h, t))
          else {
            // to a file, checked, then run: `curl | sh` runs an empty script when the download fails
            lane(h, 'downloading the k3s installer (get.k3s.io)')
            await mustRun(
              h,
              downloadInstallerCommand(),
              { timeoutMs: 180_000 },
              'downloading the k3s installer',
            )
          }
          checkpoint()
          // the join token reaches the host on stdin, in a root-only file the install removes
          lane(h, 'writing the installer environment (0600)')
          const env = installEnv(
            source,
            token ?? '',
            h.role === 'server' ? { role: 'server', tlsSan: h.target.address } : { role: 'agent', serverUrl },
          )
          await shellOf(h).upload(Buffer.from(env), INSTALL_ENV_FILE, 0o600, { sudo: true })
          checkpoint()
          lane(h, `installing k3s ${h.role}`)
          await mustRun(
            h,
            runInstallerCommand(
              INSTALL_ENV_FILE,
              o.install.kind === 'airgap' ? INSTALL_SCRIPT : DOWNLOADED_INSTALLER,
            ),
            { sudo: true, timeoutMs: 900_000 },
            `the k3s ${h.role} installer`,
          )
          checkpoint()
          await checkActive(h, (t) => lane(h, t))
          await mustRun(h, `rm -f ${INSTALL_UNFINISHED}`, { sudo: true })
          h.report.k3s = 'installed'
          changed = true
          lane(h, `k3s ${h.role} installed`)
          h.report.outcome = 'done'
        } catch (err) {
          if (err === stop.signal.reason && culprit && culprit !== h) {
            // stopped at a checkpoint, or its command ended on the host: where it got to stays in step
            h.report.ok = false
            h.report.outcome = 'stopped'
            h.report.stoppedBy = culprit.label
            h.report.problems.push(stopMessage(h, culprit))
            progress.lane?.(
              h.label,
              `${h.role.padEnd(6)} ✖ ${stopMessage(h, culprit)} (at: ${h.report.step})`,
            )
            return
          }
          fail(h, err)
          h.report.outcome = 'failed'
          if (!culprit) {
            culprit = h
            stop.abort(new Error(`stopped because ${h.label} failed`))
          }
        }
      }),
    )
    for (const h of hosts) h.signal = undefined
    // whatever happened, no installer environment (the join token) nor installer is left behind
    await Promise.all(
      hosts.map(async (h) => {
        if (!h.shell) return
        const r = await h.shell
          .run(cleanupInstallCommand([INSTALL_ENV_FILE, DOWNLOADED_INSTALLER, INSTALL_SCRIPT]), {
            sudo: true,
            timeoutMs: 30_000,
          })
          .catch((err: Error) => ({ code: 255, stderr: err.message }))
        if (r.code !== 0)
          h.report.warnings.push(
            `could not remove ${INSTALL_ENV_FILE}: ${tail(r.stderr) || `exit ${r.code}`}`,
          )
      }),
    )
    const failed = hosts.filter((h) => !h.report.ok)
    if (failed.length > 0) {
      const stoppedN = hosts.filter((h) => h.report.outcome === 'stopped').length
      inst.fail(
        `${failed.length - stoppedN} of ${hosts.length} host(s) failed${stoppedN ? `, ${stoppedN} stopped` : ''}`,
      )
      throw hostsFailed(hosts, 'installing k3s')
    }
    inst.done(hosts.map((h) => `${h.report.hostname}: ${h.report.k3s}`).join(', '))

    // 5. Kubeconfig from the server, parsed, server address rewritten, merged as a context.
    const kc = progress.step(`kubeconfig → context ${o.context} in ${o.kubeconfig}`)
    const k3sYaml = await fetchKubeconfig(server, o.kubeconfigTimeoutMs ?? 180_000)
    let adopted: string
    try {
      adopted = adoptK3sKubeconfig(k3sYaml, { host: server.target.address, name: o.context })
    } catch (err) {
      throw new UsageError(`${K3S_YAML} on ${server.label} is not a kubeconfig: ${(err as Error).message}`, {
        hint: 'look at the k3s server log on that host (journalctl -u k3s)',
      })
    }
    deps.mergeKubeconfig(adopted, o.context)
    kc.done()

    // 6. Every host a Ready node.
    const wait = progress.step(`wait for ${hosts.length} node(s) Ready`)
    const cluster = deps.cluster(o.kubeconfig, o.context)
    const names = hosts.map((h) => h.report.hostname ?? '')
    const nodes = await waitNodesReady(cluster, names, o.nodesTimeoutMs ?? 300_000, (t) => wait.update(t))
    for (const h of hosts) lane(h, `✔ node ${h.report.hostname} Ready`)
    for (const h of hosts) h.report.step = 'done'
    wait.done(`${nodes.filter((n) => n.ready).length} Ready`)
    return {
      server: serverUrl,
      context: o.context,
      kubeconfig: o.kubeconfig,
      nodes,
      hosts: hosts.map((h) => h.report),
      registry: trust?.registry,
      changed,
    }
  } finally {
    for (const h of hosts) h.shell?.close()
  }
}

/** `init --uninstall --hosts`: runs k3s's own uninstall scripts (agents first) and removes the context. */
export async function runUninstall(
  deps: BootstrapDeps,
  progress: Progress,
  o: { targets: HostTarget[]; context: string; kubeconfig: string },
): Promise<{ hosts: { host: string; removed: Role | 'nothing' }[]; contextRemoved: boolean }> {
  const step = progress.step(`uninstall k3s from ${o.targets.length} host(s)`)
  const shells = await Promise.all(o.targets.map((t) => deps.connect(t)))
  try {
    const results: { host: string; removed: Role | 'nothing' }[] = []
    const order = [...shells.keys()].slice(1).concat(0) // agents, then the server
    const agents = order.slice(0, -1)
    const one = async (i: number) => {
      const sh = shells[i]
      const label = hostLabel(o.targets[i])
      const r = await sh.run(
        `if [ -x ${UNINSTALL.agent} ]; then ${UNINSTALL.agent} && echo removed=agent; elif [ -x ${UNINSTALL.server} ]; then ${UNINSTALL.server} && echo removed=server; else echo removed=nothing; fi`,
        { sudo: true, timeoutMs: 300_000 },
      )
      if (r.code !== 0) {
        throw new BootstrapFailed(`uninstall on ${label} failed: ${lastLine(r.stderr)}`, {
          hint: 'run the uninstall script on that host by hand (sudo /usr/local/bin/k3s-uninstall.sh)',
        })
      }
      const removed = (/removed=(\w+)/.exec(r.stdout)?.[1] ?? 'nothing') as Role | 'nothing'
      progress.lane?.(label, removed === 'nothing' ? 'no k3s here' : `k3s ${removed} removed`)
      results[i] = { host: label, removed }
    }
    await Promise.all(agents.map(one))
    await one(0)
    const contextRemoved = deps.removeKubeconfigContext(o.context)
    step.done()
    return { hosts: results, contextRemoved }
  } finally {
    for (const s of shells) s.close()
  }
}

function factsReport(f: HostFacts): Partial<HostReport> {
  return {
    hostname: f.hostname,
    os: f.os,
    memMiB: f.memMiB,
    diskFreeMiB: f.diskFreeMiB,
    clockSkewS: Math.round(f.clockSkewS),
    cgroups: f.cmdlineFile ? (f.cmdlineFlags ? 'ok' : undefined) : 'no cmdline.txt',
  }
}

async function gatherFacts(h: Host, deps: BootstrapDeps): Promise<HostFacts> {
  const t0 = deps.nowS()
  const r = await mustRun(h, FACTS_COMMAND, { timeoutMs: 30_000 }, 'gathering facts')
  const t1 = deps.nowS()
  return parseFacts(h.label, r.stdout, (t0 + t1) / 2)
}

async function checkSudo(h: Host): Promise<void> {
  const r = await shellOf(h).run('true', { sudo: true, timeoutMs: 30_000 })
  if (r.code !== 0) {
    const why = lastLine(r.stderr) || `exit ${r.code}`
    throw new UsageError(`sudo refused on ${h.label}: ${why}`, {
      hint: /password/i.test(why)
        ? 'pass the password with --sudo-password-stdin, or allow NOPASSWD for this user'
        : 'give this user sudo rights on the host',
    })
  }
}

/**
 * On a host run by systemd, the installer's service must be active: k3s that fails to start
 * (a bad flag, no cgroups, a port taken) is reported with the tail of its journal, not as
 * installed. Hosts without systemd (no /run/systemd/system) have nothing to ask.
 */
async function checkActive(h: Host, lane: (t: string) => void): Promise<void> {
  const unit = h.role === 'server' ? 'k3s' : 'k3s-agent'
  lane(`checking that ${unit} is active`)
  const r = await shellOf(h).run(
    `[ -d /run/systemd/system ] || { echo no-systemd; exit 0; }; for i in $(seq 1 30); do s=$(systemctl is-active ${unit} 2>/dev/null); [ "$s" = active ] && { echo active; exit 0; }; [ "$s" = failed ] && break; sleep 1; done; echo "state=$s"; journalctl -u ${unit} -n 20 --no-pager 2>&1; exit 1`,
    { sudo: true, timeoutMs: 60_000 },
  )
  if (r.code === 0) return
  const state = /state=(\S*)/.exec(r.stdout)?.[1] || 'unknown'
  const journal = tail(r.stdout.replace(/^state=.*$/m, ''))
  throw new Error(`${unit} did not become active on ${h.label} (${state}): journal: ${journal || 'empty'}`)
}

async function fixCgroupsAndReboot(
  h: Host,
  deps: BootstrapDeps,
  timeoutMs: number,
  lane: (t: string) => void,
): Promise<void> {
  const file = h.facts?.cmdlineFile ?? '/boot/firmware/cmdline.txt'
  const cur = await mustRun(h, `cat ${file}`, { sudo: true })
  const next = fixCmdline(cur.stdout)
  if (next !== undefined) {
    lane(`appending cgroup flags to ${file}`)
    await mustRun(h, `[ -f ${file}.edgecanary.bak ] || cp -p ${file} ${file}.edgecanary.bak`, { sudo: true })
    await shellOf(h).upload(Buffer.from(next), file, 0o755, { sudo: true })
  }
  const bootId = (await shellOf(h).run('cat /proc/sys/kernel/random/boot_id')).stdout.trim()
  lane('rebooting')
  await shellOf(h).run(`nohup sh -c 'sleep 1; reboot' >/dev/null 2>&1 &`, { sudo: true, timeoutMs: 15_000 })
  shellOf(h).close()
  h.shell = undefined
  // Back when a connection succeeds after the host was seen down, or with a new boot id.
  const deadline = Date.now() + timeoutMs
  let sawDown = false
  await sleep(1000)
  for (let i = 0; Date.now() < deadline && i < 10_000; i++) {
    let sh: RemoteShell | undefined
    try {
      sh = await deps.connect(h.target)
      const id = (await sh.run('cat /proc/sys/kernel/random/boot_id', { timeoutMs: 10_000 })).stdout.trim()
      if (sawDown || id !== bootId) {
        h.shell = sh
        break
      }
    } catch (err) {
      if (err instanceof UsageError && !(err.code === 'UNREACHABLE')) throw err
      sawDown = true
    }
    sh?.close()
    await sleep(500)
  }
  if (!h.shell) {
    throw new UsageError(
      `${h.label} did not come back within ${Math.round(timeoutMs / 1000)} s of the reboot`,
      {
        hint: 'check the Pi (power, network); its cmdline.txt backup is cmdline.txt.edgecanary.bak',
      },
    )
  }
  lane('back after reboot')
  h.facts = await gatherFacts(h, deps)
  if (!h.facts.cmdlineFlags) throw new Error(`cgroup flags still missing in ${file} after the reboot`)
}

async function writeRegistries(
  h: Host,
  trust: RegistryTrust | undefined,
  lane: (t: string) => void,
): Promise<boolean> {
  if (!trust) {
    h.report.registries = 'not managed'
    return false
  }
  const want = registriesYaml(trust)
  const cur = await shellOf(h).run(`cat ${REGISTRIES_YAML} 2>/dev/null`, { sudo: true })
  if (cur.code === 0 && cur.stdout === want) {
    h.report.registries = 'unchanged'
    return false
  }
  lane(`writing ${REGISTRIES_YAML}`)
  // 0600: it may hold registry credentials.
  await shellOf(h).upload(Buffer.from(want), REGISTRIES_YAML, 0o600, { sudo: true })
  h.report.registries = 'written'
  return true
}

async function uploadAirgap(
  h: Host,
  files: { binary: Buffer; script: Buffer },
  lane: (t: string) => void,
): Promise<void> {
  const want = sha256(files.binary)
  const has = (await shellOf(h).run(`sha256sum ${K3S_BIN} 2>/dev/null`)).stdout.split(/\s/)[0]
  if (has !== want) {
    lane(`uploading k3s (${(files.binary.length / 1048576).toFixed(1)} MiB)`)
    await shellOf(h).upload(files.binary, K3S_BIN, 0o755, { sudo: true })
    const got = (await mustRun(h, `sha256sum ${K3S_BIN}`)).stdout.split(/\s/)[0]
    if (got !== want)
      throw new Error(`checksum of ${K3S_BIN} is ${got.slice(0, 12)}…, expected ${want.slice(0, 12)}…`)
  }
  await shellOf(h).upload(files.script, INSTALL_SCRIPT, 0o755)
  const got = (await mustRun(h, `sha256sum ${INSTALL_SCRIPT}`)).stdout.split(/\s/)[0]
  if (got !== sha256(files.script)) throw new Error(`checksum of ${INSTALL_SCRIPT} does not match the upload`)
}

async function fetchKubeconfig(server: Host, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs
  for (let i = 0; i < 10_000 && Date.now() <= deadline; i++) {
    const r = await shellOf(server).run(`cat ${K3S_YAML}`, { sudo: true })
    if (r.code === 0 && r.stdout.includes('server:')) return r.stdout
    await sleep(500)
  }
  throw new BootstrapFailed(`${K3S_YAML} did not appear on ${server.label}`, {
    hint: 'look at the k3s server log on that host (journalctl -u k3s)',
  })
}

async function waitNodesReady(
  cluster: Cluster,
  names: string[],
  timeoutMs: number,
  update: (t: string) => void,
): Promise<NodeSummary[]> {
  const deadline = Date.now() + timeoutMs
  let nodes: NodeSummary[] = []
  for (let i = 0; i < 100_000; i++) {
    try {
      nodes = await cluster.nodes()
    } catch (err) {
      if (Date.now() > deadline) throw err
    }
    const missing = names.filter((n) => !nodes.some((x) => x.name === n && x.ready))
    if (missing.length === 0) return nodes
    update(`waiting for ${missing.join(', ')}`)
    if (Date.now() > deadline) {
      throw new BootstrapFailed(
        `node(s) ${missing.join(', ')} not Ready after ${Math.round(timeoutMs / 1000)} s`,
        {
          hint: 'look at the k3s agent log on those hosts (journalctl -u k3s-agent); kubectl get nodes',
          details: { nodes },
        },
      )
    }
    await sleep(500)
  }
  return nodes
}

/** The host's shell; while the host has a stop signal, every command and upload is stoppable by it. */
function shellOf(h: Host): RemoteShell {
  const sh = h.shell
  if (!sh) throw new Error(`no SSH session to ${h.label}`)
  const signal = h.signal
  if (!signal) return sh
  return {
    host: sh.host,
    localAddress: sh.localAddress,
    run: (cmd, opts) => sh.run(cmd, { ...opts, signal }),
    upload: (content, path, mode, opts) => sh.upload(content, path, mode, { ...opts, signal }),
    close: () => sh.close(),
  }
}

async function mustRun(
  h: Host,
  cmd: string,
  opts: { sudo?: boolean; timeoutMs?: number } = {},
  what?: string,
): Promise<{ stdout: string; stderr: string }> {
  const r = await shellOf(h).run(cmd, opts)
  if (r.code !== 0) {
    const why = tail(r.stderr) || tail(r.stdout) || 'no output'
    throw new Error(`${what ?? 'a command'} exited ${r.code} on ${h.label}: ${why}`)
  }
  return r
}

/**
 * The last lines of a command's output, on one line: enough to say why it failed.
 *
 *   tail('a\nb\n\nc\nd\n') → 'b | c | d'
 */
function tail(text: string, lines = 3): string {
  const t = text
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-lines)
    .join(' | ')
  return t.length > 400 ? `…${t.slice(-400)}` : t
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .filter((l) => l.trim())
      .at(-1)
      ?.trim() ?? ''
  )
}

function hostsFailed(hosts: Host[], during: string): BootstrapFailed {
  const failed = hosts.filter((h) => !h.report.ok && h.report.outcome !== 'stopped')
  const stopped = hosts.filter((h) => h.report.outcome === 'stopped')
  const done = hosts.filter((h) => h.report.ok && h.report.outcome === 'done')
  const parts = [
    ...failed.map((h) => `${h.label}: ${h.report.problems.at(-1)}`),
    ...stopped.map((h) => `${h.label}: ${h.report.problems.at(-1)} (at: ${h.report.step})`),
    ...(done.length
      ? [`done: ${done.map((h) => `${h.label} (k3s ${h.report.k3s ?? 'installed'})`).join(', ')}`]
      : []),
  ]
  return new BootstrapFailed(`${during} failed on ${parts.join('; ')}`, {
    hint: 'fix what is named and run the same command again: nothing is uninstalled; finished hosts are left as they are, the others install again',
    details: { hosts: hosts.map((h) => h.report) },
  })
}
