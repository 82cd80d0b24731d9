import { execFile, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { waitFor } from './ports.js'

/** One fake Raspberry Pi: a real OpenSSH sshd in its own network, mount and UTS namespaces. */
export interface TestHost {
  /** Hostname inside the host: pi-a, pi-b, … */
  name: string
  ip: string
  user: 'pi'
  port: 22
  netns: string
  /** `ssh-ed25519 AAAA…` (no comment); changes with reinstallHost. */
  hostKeyPub: string
  /** Set on the host whose sudo asks for a password (opts.sudoPasswordHost). */
  sudoPassword?: string
}

export interface ExecResult {
  stdout: string
  stderr: string
  code: number
}

export interface HostsOptions {
  /** Index of the host where `pi` needs a password for sudo (NOPASSWD everywhere else). */
  sudoPasswordHost?: number
  /** Seconds host i's `date` runs ahead (negative: behind), by index. */
  clockSkewS?: Record<number, number>
  /** What `uname -m` prints on every host (default aarch64, as on a Pi 4/5). */
  unameM?: string
  /** How long a host stays down on `reboot` (default 1500 ms). */
  rebootDownMs?: number
}

/** Knobs of the stand-in k3s installer (test/fixtures/k3s-standin/install.sh) on one host. */
export interface StandinKnobs {
  /** Seconds the installer holds before installing (0 or undefined: none). */
  holdS?: number
  /** A message: the installer exits 1 with it on stderr. false/undefined: it succeeds. */
  fail?: string | false
  /** Join attempts (one a second) before an agent gives up (default 90). */
  joinTries?: number
}

export interface TestHosts {
  hosts: TestHost[]
  /** The root namespace's address on the hosts' LAN (the "laptop"). */
  laptopIp: string
  /** `198.18.<k>.0/24`. */
  subnet: string
  /** The bridge in the root namespace. */
  bridge: string
  /** Private key (ed25519, no passphrase) that `pi` accepts on every host. */
  clientKeyFile: string
  /** Temporary directory of the whole harness (per-host state under `<dir>/<name>`). */
  dir: string
  /** `IP ssh-ed25519 AAAA…\n`, the known_hosts line of host i's current key. */
  knownHostsLine(i: number): string
  /** Writes a known_hosts file with the given hosts (default: all); returns its path. */
  writeKnownHosts(file: string, which?: number[]): string
  /** Runs `sh -c cmd` as root inside host i's mount, UTS and network namespaces. */
  exec(i: number, cmd: string, opts?: { timeoutMs?: number; stdin?: string }): Promise<ExecResult>
  /** Powers host i off: every process of it ends, sshd stays down until startHost. */
  stopHost(i: number): Promise<void>
  /** Powers host i on again and waits until sshd answers. */
  startHost(i: number): Promise<void>
  /** Gives host i a NEW host key (sshd restarts with it); returns the new public key. */
  reinstallHost(i: number): Promise<string>
  /** Waits until host i's sshd sends its banner. */
  waitSsh(i: number, timeoutMs?: number): Promise<void>
  /** How often `reboot` ran on host i. */
  reboots(i: number): number
  /** How often host i's sshd was started (1 after startHosts; +1 per reboot/start/reinstall). */
  boots(i: number): number
  /** Waits until host i booted again after `boots(i)` was `before`, and sshd answers. */
  waitBoot(i: number, before: number, timeoutMs?: number): Promise<void>
  /** PIDs of host i's supervisor (the "hardware") and its `unshare` parent. */
  supervisorPids(i: number): number[]
  /** Sets the stand-in installer's knobs on host i (files under /etc/rancher). */
  setStandin(i: number, knobs: StandinKnobs): Promise<void>
  /** Ends every process of every host (by PID), deletes namespaces, bridge and files. */
  cleanup(): Promise<void>
}

const REPO = join(import.meta.dirname, '..', '..')
/** Not /tmp: each host gets a private /tmp, and its state must stay visible inside it. */
const BASE = '/var/tmp'
const PI_UID = 4242
const CMDLINE =
  'console=serial0,115200 console=tty1 root=PARTUUID=abcd-02 rootfstype=ext4 fsck.repair=yes rootwait\n'
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
const ip = (...args: string[]) =>
  execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

/**
 * Starts n fake Raspberry Pis on a private 198.18.<k>.0/24 LAN (a bridge in the root namespace
 * at .1, hosts at .10, .11, …), each an sshd as root in its own namespaces with a private
 * /etc (overlay: passwd, shadow, group, sudoers, hosts with user `pi`), /var/lib, /boot/firmware,
 * /usr/local/{bin,sbin}, /tmp, /run and /home, a `reboot` that restarts it, and `uname`/`date`
 * stand-ins. Nothing outside the namespaces changes.
 *
 *   const t = await startHosts(4, { sudoPasswordHost: 2, clockSkewS: { 3: 120 } })
 *   connectShell({ host: t.hosts[0].ip, user: 'pi', keyFiles: [t.clientKeyFile], knownHostsFile })
 */
export async function startHosts(n: number, opts: HostsOptions = {}): Promise<TestHosts> {
  if (n < 1 || n > 26) throw new Error(`startHosts: 1..26 hosts, not ${n}`)
  await sweepStale()
  const dir = mkdtempSync(join(BASE, 'ec-netns-'))
  chmodSync(dir, 0o755)
  const k = claimSubnet()
  writeFileSync(join(dir, 'owner'), `${process.pid} ${k}\n`)
  const bridge = `ecbr${k}`
  const laptopIp = `198.18.${k}.1`
  const downS = ((opts.rebootDownMs ?? 1500) / 1000).toFixed(1)
  const hosts: TestHost[] = []
  const states: string[] = []
  let cleaned = false

  const clientKeyFile = join(dir, 'client')
  keygen(clientKeyFile, 'edgecanary-test-client')

  const cleanup = async () => {
    if (cleaned) return
    cleaned = true
    for (const s of states) tryRun(() => writeFileSync(join(s, 'stop'), ''))
    await Promise.all(hosts.map((h) => killNetns(h.netns)))
    for (const h of hosts) tryRun(() => ip('netns', 'del', h.netns))
    tryRun(() => ip('link', 'del', bridge))
    rmSync(dir, { recursive: true, force: true })
  }

  try {
    ip('addr', 'add', `${laptopIp}/24`, 'dev', bridge)
    ip('link', 'set', bridge, 'up')
    for (let i = 0; i < n; i++) {
      const name = `pi-${String.fromCharCode(97 + i)}`
      const netns = `ec${k}-${name}`
      const S = join(dir, name)
      states.push(S)
      const password = i === opts.sudoPasswordHost ? `pw-${randomBytes(6).toString('hex')}` : undefined
      prepareHost(S, {
        name,
        password,
        unameM: opts.unameM ?? 'aarch64',
        skewS: opts.clockSkewS?.[i],
        downS,
        clientPub: readFileSync(`${clientKeyFile}.pub`, 'utf8'),
      })
      ip('netns', 'add', netns)
      hosts.push({
        name,
        ip: `198.18.${k}.${10 + i}`,
        user: 'pi',
        port: 22,
        netns,
        hostKeyPub: pubKey(S),
        ...(password ? { sudoPassword: password } : {}),
      })
      const veth = `ec${k}v${i}`
      ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns)
      ip('link', 'set', veth, 'master', bridge, 'up')
      ip('-n', netns, 'link', 'set', 'lo', 'up')
      ip('-n', netns, 'addr', 'add', `${hosts[i].ip}/24`, 'dev', 'eth0')
      ip('-n', netns, 'link', 'set', 'eth0', 'up')
      const log = openSync(join(S, 'supervisor.log'), 'a')
      const child = spawn(
        'ip',
        [
          'netns',
          'exec',
          netns,
          'unshare',
          '--mount',
          '--uts',
          '--fork',
          '--propagation',
          'private',
          '/bin/sh',
          join(S, 'supervise.sh'),
        ],
        { detached: true, stdio: ['ignore', log, log] },
      )
      child.unref()
      closeSync(log)
    }
    await Promise.all(
      hosts.map(async (h, i) => {
        await waitFor(
          `${h.name} to boot (see ${join(states[i], 'supervisor.log')})`,
          () => existsSync(join(states[i], 'ready')) || undefined,
          20_000,
          50,
        )
        await waitSsh(h.ip, 20_000)
      }),
    )
  } catch (err) {
    await cleanup()
    throw err
  }

  const state = (i: number) => {
    if (!states[i]) throw new Error(`no host ${i}`)
    return states[i]
  }
  const counter = (i: number, file: string) => {
    const f = join(state(i), file)
    return existsSync(f) ? Number(readFileSync(f, 'utf8').trim()) || 0 : 0
  }
  const supervisorPids = (i: number) =>
    readFileSync(join(state(i), 'supervisor.pids'), 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number)
  const knownHostsLine = (i: number) => `${hosts[i].ip} ${hosts[i].hostKeyPub}\n`

  const exec = (i: number, cmd: string, o: { timeoutMs?: number; stdin?: string } = {}) =>
    new Promise<ExecResult>((resolve, reject) => {
      const child = execFile(
        'nsenter',
        ['--target', String(supervisorPids(i)[0]), '--mount', '--uts', '--net', '--', '/bin/sh', '-c', cmd],
        {
          cwd: '/',
          env: { PATH, HOME: '/root', LANG: 'C.UTF-8' },
          timeout: o.timeoutMs ?? 60_000,
          killSignal: 'SIGKILL',
          maxBuffer: 64 * 1024 * 1024,
        },
        (err, stdout, stderr) => {
          if (err && typeof err.code !== 'number') return reject(err)
          resolve({ stdout, stderr, code: err ? Number(err.code) : 0 })
        },
      )
      // a command that exits without reading its stdin must not fail the test run with EPIPE
      child.stdin?.on('error', () => {})
      child.stdin?.end(o.stdin ?? '')
    })

  const waitBoot = async (i: number, before: number, timeoutMs = 20_000) => {
    await waitFor(
      `${hosts[i].name} to boot again`,
      () => counter(i, 'boots') > before || undefined,
      timeoutMs,
      50,
    )
    await waitSsh(hosts[i].ip, timeoutMs)
  }

  return {
    hosts,
    laptopIp,
    subnet: `198.18.${k}.0/24`,
    bridge,
    clientKeyFile,
    dir,
    knownHostsLine,
    writeKnownHosts(file, which = hosts.map((_, i) => i)) {
      writeFileSync(file, which.map(knownHostsLine).join(''), { mode: 0o600 })
      return file
    },
    exec,
    async stopHost(i) {
      writeFileSync(join(state(i), 'poweroff'), '')
      await powercycle(state(i))
    },
    async startHost(i) {
      const before = counter(i, 'boots')
      rmSync(join(state(i), 'poweroff'), { force: true })
      await waitBoot(i, before)
    },
    async reinstallHost(i) {
      const S = state(i)
      const before = counter(i, 'boots')
      rmSync(join(S, 'ssh_host_ed25519_key'), { force: true })
      rmSync(join(S, 'ssh_host_ed25519_key.pub'), { force: true })
      keygen(join(S, 'ssh_host_ed25519_key'), hosts[i].name)
      hosts[i].hostKeyPub = pubKey(S)
      const sshd = Number(readFileSync(join(S, 'sshd.pid'), 'utf8'))
      tryRun(() => process.kill(sshd, 'SIGTERM'))
      await waitBoot(i, before)
      return hosts[i].hostKeyPub
    },
    waitSsh: (i, timeoutMs = 20_000) => waitSsh(hosts[i].ip, timeoutMs),
    reboots: (i) => counter(i, 'reboots'),
    boots: (i) => counter(i, 'boots'),
    waitBoot,
    supervisorPids,
    async setStandin(i, knobs) {
      const lines = [
        knobs.holdS
          ? `printf '%s\\n' ${knobs.holdS} > /etc/rancher/standin-hold`
          : 'rm -f /etc/rancher/standin-hold',
        knobs.fail
          ? `printf '%s\\n' ${sh(knobs.fail)} > /etc/rancher/standin-fail`
          : 'rm -f /etc/rancher/standin-fail',
        knobs.joinTries
          ? `printf '%s\\n' ${knobs.joinTries} > /etc/rancher/standin-join-tries`
          : 'rm -f /etc/rancher/standin-join-tries',
      ]
      const r = await exec(i, `set -e; ${lines.join('; ')}`)
      if (r.code !== 0) throw new Error(`setStandin on ${hosts[i].name}: ${r.stderr}`)
    },
    cleanup,
  }
}

/**
 * Removes what a harness left behind when its test process died without cleanup() (killed
 * run): only directories of this harness whose owner PID is gone, and their namespaces and bridge.
 */
async function sweepStale(): Promise<void> {
  for (const e of readdirSync(BASE)) {
    if (!e.startsWith('ec-netns-')) continue
    const dir = join(BASE, e)
    const owner = join(dir, 'owner')
    if (!existsSync(owner)) continue
    const [pid, k] = readFileSync(owner, 'utf8').trim().split(' ').map(Number)
    if (!pid || !k || existsSync(`/proc/${pid}`)) continue
    const names = readdirSync(dir).filter((n) => /^pi-[a-z]$/.test(n))
    for (const n of names) tryRun(() => writeFileSync(join(dir, n, 'stop'), ''))
    await Promise.all(names.map((n) => killNetns(`ec${k}-${n}`)))
    for (const n of names) tryRun(() => ip('netns', 'del', `ec${k}-${n}`))
    tryRun(() => ip('link', 'del', `ecbr${k}`))
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Picks k in 1..250 with no 198.18.<k>.x address here and claims it by creating bridge ecbr<k>. */
function claimSubnet(): number {
  const ks = Array.from({ length: 250 }, (_, i) => i + 1).sort(() => Math.random() - 0.5)
  for (const k of ks) {
    if (ip('-o', 'addr').includes(`198.18.${k}.`)) continue
    try {
      // fails when another test file holds this k: the bridge name is the lock
      ip('link', 'add', `ecbr${k}`, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0')
    } catch {
      continue
    }
    return k
  }
  throw new Error('no free 198.18.<k>.0/24 for the test hosts')
}

function keygen(file: string, comment: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file])
}

function pubKey(S: string): string {
  return readFileSync(join(S, 'ssh_host_ed25519_key.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ')
}

function tryRun(f: () => unknown): void {
  try {
    f()
  } catch {
    // already gone
  }
}

/** Writes host state dir S: keys, /etc overlay files, stand-ins, sshd config, scripts. */
function prepareHost(
  S: string,
  o: { name: string; password?: string; unameM: string; skewS?: number; downS: string; clientPub: string },
): void {
  for (const d of [
    'etc.upper/rancher/standin-boot.d',
    'etc.work',
    'varlib.upper/rancher',
    'varlib.work',
    'bin',
    'sbin',
  ])
    mkdirSync(join(S, d), { recursive: true })
  mkdirSync(join(S, 'home', '.ssh'), { recursive: true, mode: 0o700 })
  writeFileSync(join(S, 'home', '.ssh', 'authorized_keys'), o.clientPub, { mode: 0o600 })
  for (const p of [join(S, 'home'), join(S, 'home', '.ssh'), join(S, 'home', '.ssh', 'authorized_keys')])
    chownSync(p, PI_UID, PI_UID)
  keygen(join(S, 'ssh_host_ed25519_key'), o.name)

  // /etc overlay: private copies with user pi (the machine's files are only read)
  const etc = join(S, 'etc.upper')
  const hash = execFileSync('openssl', ['passwd', '-6', '-stdin'], {
    input: o.password ?? randomBytes(12).toString('hex'),
    encoding: 'utf8',
  }).trim()
  const add = (file: string, line: string, mode: number) =>
    writeFileSync(join(etc, file), `${readFileSync(`/etc/${file}`, 'utf8').replace(/\n?$/, '\n')}${line}\n`, {
      mode,
    })
  add('passwd', `pi:x:${PI_UID}:${PI_UID}:Raspberry Pi user:/home/pi:/bin/bash`, 0o644)
  add('group', `pi:x:${PI_UID}:`, 0o644)
  add('shadow', `pi:${hash}:19800:0:99999:7:::`, 0o640)
  add('hosts', `127.0.1.1\t${o.name}`, 0o644)
  writeFileSync(join(etc, 'hostname'), `${o.name}\n`)
  writeFileSync(
    join(etc, 'sudoers'),
    [
      'Defaults env_reset',
      `Defaults secure_path="${PATH}"`,
      'Defaults timestamp_timeout=0',
      'Defaults lecture=never',
      'root ALL=(ALL:ALL) ALL',
      o.password ? 'pi ALL=(ALL:ALL) ALL' : 'pi ALL=(ALL:ALL) NOPASSWD: ALL',
      '',
    ].join('\n'),
    { mode: 0o440 },
  )
  writeFileSync(join(etc, 'rancher', 'standin-node'), `${process.execPath}\n`)
  // The repository as the host sees it: bound into the state dir before /tmp and /home turn
  // private, so a checkout under /tmp (CI's clone) or /home stays visible to the server role.
  mkdirSync(join(S, 'repo'), { recursive: true })
  writeFileSync(join(etc, 'rancher', 'standin-repo'), `${join(S, 'repo')}\n`)

  writeFileSync(join(S, 'cmdline.txt'), CMDLINE)
  writeFileSync(
    join(S, 'sshd_config'),
    [
      'Port 22',
      'ListenAddress 0.0.0.0',
      `HostKey ${join(S, 'ssh_host_ed25519_key')}`,
      'PidFile none',
      'AuthorizedKeysFile .ssh/authorized_keys',
      'StrictModes no',
      'UsePAM no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin no',
      'MaxStartups 100',
      'MaxSessions 100',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  )

  const script = (file: string, lines: string[]) =>
    writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o755 })
  script(join(S, 'bin', 'uname'), [
    '#!/bin/sh',
    '# test host stand-in: this machine looks like a Raspberry Pi',
    'set -eu',
    `/bin/uname "$@" | sed "s/$(/bin/uname -m)/${o.unameM}/g"`,
  ])
  script(join(S, 'bin', 'arch'), ['#!/bin/sh', 'set -eu', 'exec uname -m'])
  if (o.skewS !== undefined)
    script(join(S, 'bin', 'date'), [
      '#!/bin/sh',
      `# test host stand-in: this clock runs ${o.skewS}s off`,
      'set -eu',
      'for a in "$@"; do',
      '  case $a in -d* | --date* | -s* | --set* | -r* | --reference* | -f* | --file*) exec /bin/date "$@" ;; esac',
      'done',
      'now=$(/bin/date +%s.%N)',
      `exec /bin/date -d "@$((\${now%.*} + (${o.skewS}))).\${now#*.}" "$@"`,
    ])
  script(join(S, 'sbin', 'reboot'), [
    '#!/bin/sh',
    '# test host stand-in: the host goes down shortly after this returns, then boots again',
    'set -eu',
    `[ "$(id -u)" = 0 ] || { echo 'reboot: must be root' >&2; exit 1; }`,
    `n=$(cat ${sh(join(S, 'reboots'))} 2>/dev/null || echo 0)`,
    `echo $((n + 1)) > ${sh(join(S, 'reboots'))}`,
    `: > ${sh(join(S, 'rebooting'))}`,
    `setsid /bin/sh ${sh(join(S, 'powercycle.sh'))} 0.5 </dev/null >/dev/null 2>&1 &`,
    `echo 'The system is going down for reboot NOW!'`,
  ])
  script(join(S, 'sbin', 'shutdown'), [
    '#!/bin/sh',
    'set -eu',
    'case " $* " in *" -r "*) exec /usr/local/sbin/reboot ;; esac',
    `echo 'shutdown stand-in: only -r (reboot) is supported' >&2`,
    'exit 1',
  ])
  script(join(S, 'powercycle.sh'), [
    '#!/bin/sh',
    '# Ends every process of this host except its supervisor and the sleeps of its loop ("the',
    '# power goes off"): SIGTERM, then SIGKILL after 2 s, scanning again until none is left (a',
    '# process may start another meanwhile); then clears the rebooting flag so the host boots.',
    '# Only builtins in the scans, so no child of this script is caught by them.',
    'set -u',
    `S=${sh(S)}`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    'sleep "${1:-0}"',
    'read -r sup parent < "$S/supervisor.pids"',
    'n=0',
    'while [ $n -lt 80 ]; do',
    '  found=""',
    '  for d in /proc/[0-9]*; do',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    '    p=${d#/proc/}',
    '    case $p in "$$" | "$sup" | "$parent") continue ;; esac',
    '    [ "$d/ns/net" -ef "/proc/$sup/ns/net" ] && [ "$d/ns/mnt" -ef "/proc/$sup/ns/mnt" ] || continue',
    '    read -r _ comm state ppid _ 2>/dev/null < "$d/stat" || continue',
    // a zombie has ended already; init reaps it when it will
    '    [ "$state" = Z ] && continue',
    '    [ "$ppid" = "$sup" ] && [ "$comm" = "(sleep)" ] && continue',
    '    found="$found $p"',
    '  done',
    '  [ -n "$found" ] || break',
    '  sig=TERM',
    '  [ $n -lt 20 ] || sig=KILL',
    '  for p in $found; do kill -$sig "$p" 2>/dev/null; done',
    '  sleep 0.1',
    '  n=$((n + 1))',
    'done',
    'rm -f "$S/rebooting"',
    'exit 0',
  ])
  script(join(S, 'supervise.sh'), [
    '#!/bin/sh',
    `# Host ${o.name} of the netns test harness: the "hardware". Sets up its private mounts and`,
    '# hostname once, then keeps sshd running; reboot/stopHost end sshd, this loop boots it again.',
    'set -eu',
    `S=${sh(S)}`,
    'echo "$$ $PPID" > "$S/supervisor.pids"',
    `hostname ${o.name}`,
    'mount -t overlay overlay -o "lowerdir=/etc,upperdir=$S/etc.upper,workdir=$S/etc.work" /etc',
    'mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$S/varlib.upper,workdir=$S/varlib.work" /var/lib',
    'mount -t tmpfs -o mode=755 boot /boot',
    'mkdir /boot/firmware',
    'cp "$S/cmdline.txt" /boot/firmware/cmdline.txt',
    'mount -t tmpfs -o mode=755 usrlocalbin /usr/local/bin',
    'cp "$S"/bin/* /usr/local/bin/',
    'mount -t tmpfs -o mode=755 usrlocalsbin /usr/local/sbin',
    'cp "$S"/sbin/* /usr/local/sbin/',
    // read-only: the host only runs the CLI from it
    `mount --bind ${sh(REPO)} "$S/repo"`,
    'mount -o remount,bind,ro "$S/repo"',
    'mount -t tmpfs -o mode=1777 tmp /tmp',
    'mount -t tmpfs -o mode=755 run /run',
    'mkdir -p /run/sshd',
    'mount -t tmpfs -o mode=755 home /home',
    'mkdir /home/pi',
    'mount --bind "$S/home" /home/pi',
    ': > "$S/ready"',
    'set +e',
    'while [ ! -e "$S/stop" ]; do',
    '  if [ -e "$S/poweroff" ]; then sleep 0.2; continue; fi',
    '  /usr/sbin/sshd -D -e -f "$S/sshd_config" >> "$S/sshd.log" 2>&1 &',
    '  sshd=$!',
    '  echo "$sshd" > "$S/sshd.pid"',
    '  n=$(cat "$S/boots" 2>/dev/null || echo 0)',
    '  echo $((n + 1)) > "$S/boots"',
    '  if [ "$n" -gt 0 ]; then',
    '    for f in /etc/rancher/standin-boot.d/*; do [ -x "$f" ] && "$f" >> "$S/boot.log" 2>&1; done',
    '  fi',
    '  wait "$sshd"',
    '  if [ -e "$S/rebooting" ]; then',
    '    n=0',
    '    while [ -e "$S/rebooting" ] && [ $n -lt 150 ]; do sleep 0.1; n=$((n + 1)); done',
    `    sleep ${o.downS}`,
    '  fi',
    'done',
  ])
}

/** Ends every process of the host in state dir S except its supervisor (from the root namespace). */
function powercycle(S: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', [join(S, 'powercycle.sh'), '0'], { timeout: 10_000 }, (err) =>
      err ? reject(err) : resolve(),
    )
  })
}

/** Ends every process in a network namespace by PID: SIGTERM, then SIGKILL after a bounded wait. */
async function killNetns(netns: string): Promise<void> {
  const pids = () => {
    try {
      return ip('netns', 'pids', netns).split(/\s+/).filter(Boolean).map(Number)
    } catch {
      return []
    }
  }
  const signal = (sig: NodeJS.Signals) => {
    for (const p of pids()) tryRun(() => process.kill(p, sig))
  }
  signal('SIGTERM')
  for (let i = 0; i < 30 && pids().length > 0; i++) await new Promise((r) => setTimeout(r, 100))
  for (let i = 0; i < 20 && pids().length > 0; i++) {
    signal('SIGKILL')
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Waits until an sshd at ip:22 sends its `SSH-2.0-` banner. */
async function waitSsh(host: string, timeoutMs: number): Promise<void> {
  await waitFor(
    `sshd on ${host}:22`,
    () =>
      new Promise<true | undefined>((resolve) => {
        const s = connect({ host, port: 22, timeout: 1000 })
        let got = ''
        const done = (v: true | undefined) => {
          s.destroy()
          resolve(v)
        }
        s.on('data', (d: Buffer) => {
          got += d.toString()
          if (got.startsWith('SSH-2.0-')) done(true)
        })
        s.on('timeout', () => done(undefined))
        s.on('error', () => done(undefined))
        s.on('close', () => done(undefined))
      }),
    timeoutMs,
    100,
  )
}
