import { INSTALL_UNFINISHED } from './plan.js'
import type { HostFacts } from './preflight.js'

/**
 * One POSIX shell command that prints what preflight needs as `key=value` lines. Read-only,
 * runs as the login user (no sudo), so gathering facts never changes a host.
 */
export const FACTS_COMMAND = [
  'echo "machine=$(uname -m)"',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not a template
  '( . /etc/os-release 2>/dev/null; echo "os=${PRETTY_NAME:-unknown}" )',
  `echo "mem_kib=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"`,
  `echo "disk_kib=$(df -Pk /var/lib 2>/dev/null | awk 'NR==2 {print $4}')"`,
  'echo "epoch=$(date +%s)"',
  'echo "hostname=$(hostname)"',
  // Listening TCP sockets (state 0A) from /proc, so neither ss nor netstat is needed.
  `echo "listen_hex=$(awk 'NR>1 && $4=="0A" {split($2,a,":"); print a[length(a)]}' /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u | tr '\\n' ' ')"`,
  'for f in /boot/firmware/cmdline.txt /boot/cmdline.txt; do if [ -f "$f" ]; then echo "cmdline_file=$f"; echo "cmdline=$(tr \'\\n\' \' \' < "$f")"; break; fi; done',
  'if [ -x /usr/local/bin/k3s-uninstall.sh ]; then echo installed=server; elif [ -x /usr/local/bin/k3s-agent-uninstall.sh ]; then echo installed=agent; fi',
  `if [ -e ${INSTALL_UNFINISHED} ]; then echo install_unfinished=1; fi`,
].join('; ')

/** The ports k3s needs free on a host that does not run it yet: API server and kubelet. */
export const K3S_PORTS = [6443, 10250]

/**
 * Turns the output of FACTS_COMMAND into HostFacts. `localEpochS` is the laptop's clock at
 * the moment the command ran (the middle of the round trip).
 *
 *   parseFacts('pi@a', 'machine=aarch64\nmem_kib=3884000\nepoch=1700000003\nhostname=pi-a\nlisten_hex=0016 192B\n…', 1700000000)
 *   → { host: 'pi@a', machine: 'aarch64', memMiB: 3792, clockSkewS: 3, hostname: 'pi-a', busyPorts: [6443], … }
 */
export function parseFacts(host: string, stdout: string, localEpochS: number): HostFacts {
  const kv = new Map<string, string>()
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=')
    if (i > 0) kv.set(line.slice(0, i).trim(), line.slice(i + 1).trim())
  }
  const num = (k: string) => {
    const n = Number(kv.get(k))
    return Number.isFinite(n) ? n : 0
  }
  const listening = (kv.get('listen_hex') ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((h) => Number.parseInt(h, 16))
  const cmdline = kv.get('cmdline')
  const installed = kv.get('installed')
  return {
    host,
    machine: kv.get('machine') ?? 'unknown',
    os: kv.get('os') ?? 'unknown',
    memMiB: Math.round(num('mem_kib') / 1024),
    diskFreeMiB: Math.round(num('disk_kib') / 1024),
    clockSkewS: kv.has('epoch') ? num('epoch') - localEpochS : 0,
    hostname: kv.get('hostname') ?? '',
    busyPorts: K3S_PORTS.filter((p) => listening.includes(p)),
    cmdlineFile: kv.get('cmdline_file'),
    cmdlineFlags:
      cmdline === undefined ||
      ['cgroup_memory=1', 'cgroup_enable=memory'].every((f) => cmdline.split(/\s+/).includes(f)),
    installed: installed === 'server' || installed === 'agent' ? installed : undefined,
    ...(kv.get('install_unfinished') === '1' ? { installUnfinished: true } : {}),
  }
}
