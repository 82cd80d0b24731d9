export interface HostFacts {
  host: string
  /** `uname -m`. */
  machine: string
  /** /etc/os-release PRETTY_NAME. */
  os: string
  memMiB: number
  diskFreeMiB: number
  /** Remote epoch seconds minus local epoch seconds. */
  clockSkewS: number
  hostname: string
  busyPorts: number[]
  /** cgroup_memory=1 cgroup_enable=memory present, or no cmdline.txt at all (not a Pi). */
  cmdlineFlags: boolean
  /** /boot/firmware/cmdline.txt (bookworm) or /boot/cmdline.txt (older), when there is one. */
  cmdlineFile?: string
  /** k3s already installed there, by its uninstall script. */
  installed?: 'server' | 'agent'
  /** An earlier install there failed or was stopped before k3s was seen active (INSTALL_UNFINISHED). */
  installUnfinished?: boolean
}

export interface HostVerdict {
  host: string
  arch: string
  ok: boolean
  problems: string[]
  warnings: string[]
}

/**
 * `uname -m` in Kubernetes' architecture names.
 *
 *   archOf('aarch64') → 'arm64';  archOf('armv7l') → 'arm';  archOf('x86_64') → 'amd64'
 */
export function archOf(machine: string): string {
  const m = machine.trim()
  if (m === 'aarch64' || m === 'arm64') return 'arm64'
  if (m.startsWith('armv7') || m.startsWith('armv6')) return 'arm'
  if (m === 'x86_64' || m === 'amd64') return 'amd64'
  return m
}

/**
 * Judges every host of a bootstrap from facts gathered over SSH: memory, disk, clock skew,
 * unique hostnames, free k3s ports, cgroup flags (fixable with --fix-cgroups).
 *
 *   judgeHosts([{ host: 'pi@a', machine: 'aarch64', memMiB: 3800, …, hostname: 'pi' }, { …, hostname: 'pi' }])
 *   → both not ok: 'hostname "pi" is used by 2 hosts'
 */
export function judgeHosts(facts: HostFacts[], o: { fixCgroups?: boolean } = {}): HostVerdict[] {
  const names = new Map<string, number>()
  for (const f of facts) names.set(f.hostname, (names.get(f.hostname) ?? 0) + 1)
  return facts.map((f) => {
    const problems: string[] = []
    const warnings: string[] = []
    if (f.memMiB < 512) problems.push(`only ${f.memMiB} MiB of memory (k3s needs 512 MiB)`)
    if (f.diskFreeMiB < 1024) problems.push(`only ${f.diskFreeMiB} MiB free disk (k3s needs 1 GiB)`)
    if (Math.abs(f.clockSkewS) > 30)
      problems.push(
        `clock is off by ${Math.round(f.clockSkewS)} s (TLS and leases need synchronised clocks: enable NTP)`,
      )
    else if (Math.abs(f.clockSkewS) > 5) warnings.push(`clock is off by ${Math.round(f.clockSkewS)} s`)
    if ((names.get(f.hostname) ?? 0) > 1)
      problems.push(
        `hostname "${f.hostname}" is used by ${names.get(f.hostname)} hosts (k3s node names must be unique)`,
      )
    // k3s itself listens on these once installed: busy is only a problem before.
    if (!f.installed) for (const p of f.busyPorts) problems.push(`port ${p} is already in use`)
    if (!f.cmdlineFlags && !o.fixCgroups)
      problems.push(
        `cgroup memory is not enabled in ${f.cmdlineFile ?? 'cmdline.txt'} (fix with --fix-cgroups)`,
      )
    const arch = archOf(f.machine)
    if (!['arm64', 'arm', 'amd64'].includes(arch)) problems.push(`unsupported architecture ${f.machine}`)
    return { host: f.host, arch, ok: problems.length === 0, problems, warnings }
  })
}
