import { stringify } from 'yaml'

export interface InstallSource {
  /** Online installer (get.k3s.io) with a version or channel, or airgap files already uploaded. */
  kind: 'online' | 'airgap'
  version?: string
  channel?: string
  /** Remote path of the uploaded install script (airgap). */
  script?: string
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** Where the online installer is downloaded to on a host before it runs. */
export const DOWNLOADED_INSTALLER = '/tmp/k3s-install.sh'
/** The installer's environment on a host (root, 0600), read and removed by the install command. */
export const INSTALL_ENV_FILE = '/run/edgecanary-k3s-install.env'

/**
 * Exists on a host from the moment its installer starts until edgecanary has seen k3s active
 * there: an install that failed or was stopped half-way (k3s' uninstall script already
 * written, its service never started) is run again by the next `init --hosts`, not taken
 * for "already installed".
 */
export const INSTALL_UNFINISHED = '/var/lib/edgecanary/k3s-install-unfinished'

export type InstallRole = { role: 'server'; tlsSan: string } | { role: 'agent'; serverUrl: string }

/**
 * The k3s installer's environment as a file (`KEY='value'` lines): the join token reaches a
 * host in it, over the SSH channel's stdin, never on a command line (`ps`, sudo's log). The
 * token is made on the laptop so agents can install in parallel with the server.
 *
 *   installEnv({ kind: 'online', version: 'v1.32.3+k3s1' }, 'T', { role: 'server', tlsSan: '10.0.0.10' })
 *   → "INSTALL_K3S_VERSION='v1.32.3+k3s1'\nK3S_TOKEN='T'\nINSTALL_K3S_EXEC='server --tls-san 10.0.0.10 --write-kubeconfig-mode 600'\n"
 *   installEnv({ kind: 'airgap' }, 'T', { role: 'agent', serverUrl: 'https://10.0.0.10:6443' })
 *   → "INSTALL_K3S_SKIP_DOWNLOAD='true'\nK3S_URL='https://10.0.0.10:6443'\nK3S_TOKEN='T'\n"
 */
export function installEnv(src: InstallSource, token: string, r: InstallRole): string {
  const lines = [
    ...(src.kind === 'airgap' ? ["INSTALL_K3S_SKIP_DOWNLOAD='true'"] : []),
    ...(src.version
      ? [`INSTALL_K3S_VERSION=${q(src.version)}`]
      : src.channel
        ? [`INSTALL_K3S_CHANNEL=${q(src.channel)}`]
        : []),
    ...(r.role === 'server'
      ? [
          `K3S_TOKEN=${q(token)}`,
          `INSTALL_K3S_EXEC=${q(`server --tls-san ${r.tlsSan} --write-kubeconfig-mode 600`)}`,
        ]
      : [`K3S_URL=${q(r.serverUrl)}`, `K3S_TOKEN=${q(token)}`]),
  ]
  return `${lines.join('\n')}\n`
}

/**
 * Downloads the online installer to a file and checks it before anything runs it: `curl |
 * sh` runs an empty script and exits 0 when the download fails (no internet, DNS, a proxy).
 * Fails (exit 3, the reason on stderr) when the file is empty or not a shell script.
 *
 *   downloadInstallerCommand('/tmp/k3s-install.sh')
 *   → "rm -f '/tmp/k3s-install.sh' && curl -sfSL --connect-timeout 10 --max-time 120 -o '/tmp/k3s-install.sh' https://get.k3s.io && …"
 */
export function downloadInstallerCommand(path: string = DOWNLOADED_INSTALLER): string {
  const f = q(path)
  return [
    `rm -f ${f}`,
    `curl -sfSL --connect-timeout 10 --max-time 120 -o ${f} https://get.k3s.io`,
    `{ [ -s ${f} ] || { echo "the downloaded installer is empty" >&2; exit 3; }; }`,
    `{ [ "$(head -c 2 ${f})" = '#!' ] || { echo "the downloaded installer is not a shell script (it does not start with #!)" >&2; exit 3; }; }`,
  ].join(' && ')
}

/**
 * Runs the installer (as root, through sudo) with its environment read from `envFile`, which
 * is removed before the installer starts: no secret on this command line. `unfinished` is
 * created first (see INSTALL_UNFINISHED). (The SSH shell runs it in its own process group, so
 * a run that stops ends it and its children.)
 *
 *   runInstallerCommand('/run/e.env', '/tmp/k3s-install.sh', '/var/lib/ec/u')
 *   → "set -a; . '/run/e.env'; rc=$?; set +a; rm -f '/run/e.env'; [ $rc -eq 0 ] || exit $rc; mkdir -p '/var/lib/ec' && : > '/var/lib/ec/u' || exit 1; exec sh '/tmp/k3s-install.sh'"
 */
export function runInstallerCommand(
  envFile: string,
  script: string,
  unfinished: string = INSTALL_UNFINISHED,
): string {
  const dir = unfinished.slice(0, unfinished.lastIndexOf('/')) || '/'
  return `set -a; . ${q(envFile)}; rc=$?; set +a; rm -f ${q(envFile)}; [ $rc -eq 0 ] || exit $rc; mkdir -p ${q(dir)} && : > ${q(unfinished)} || exit 1; exec sh ${q(script)}`
}

/**
 * Removes what an install leaves in temporary places on a host, whether it finished, failed
 * or was stopped: the installer's environment (it holds the join token) and the installer.
 *
 *   cleanupInstallCommand(['/run/e.env', '/tmp/k.sh']) → "rm -f '/run/e.env' '/tmp/k.sh'"
 */
export function cleanupInstallCommand(files: string[]): string {
  return `rm -f ${files.map(q).join(' ')}`
}

export interface RegistryTrust {
  /** host[:port] the nodes pull from. */
  registry: string
  /** Plain HTTP (only when asked explicitly). */
  http?: boolean
  auth?: { username: string; password: string }
  insecureSkipVerify?: boolean
}

/**
 * `/etc/rancher/k3s/registries.yaml` so containerd on every node trusts the registry.
 *
 *   registriesYaml({ registry: '10.0.0.5:5000', http: true })
 *   → "mirrors:\n  10.0.0.5:5000:\n    endpoint:\n      - http://10.0.0.5:5000\n"
 */
export function registriesYaml(t: RegistryTrust): string {
  const doc: Record<string, unknown> = {
    mirrors: { [t.registry]: { endpoint: [`${t.http ? 'http' : 'https'}://${t.registry}`] } },
  }
  const config: Record<string, unknown> = {}
  if (t.auth) config.auth = { username: t.auth.username, password: t.auth.password }
  if (t.insecureSkipVerify) config.tls = { insecure_skip_verify: true }
  if (Object.keys(config).length > 0) doc.configs = { [t.registry]: config }
  return stringify(doc)
}

export const CGROUP_FLAGS = ['cgroup_memory=1', 'cgroup_enable=memory']

/**
 * Adds the cgroup memory flags k3s needs on a Raspberry Pi to the single line of cmdline.txt,
 * once. Returns undefined when nothing needs to change.
 *
 *   fixCmdline('console=serial0,115200 root=PARTUUID=1 rootwait\n')
 *   → 'console=serial0,115200 root=PARTUUID=1 rootwait cgroup_memory=1 cgroup_enable=memory\n'
 *   fixCmdline('… cgroup_memory=1 cgroup_enable=memory\n') → undefined
 */
export function fixCmdline(text: string): string | undefined {
  const line = text.replace(/\r?\n/g, ' ').trim()
  const words = line.split(/\s+/)
  const missing = CGROUP_FLAGS.filter((f) => !words.includes(f))
  if (missing.length === 0) return undefined
  return `${[...words, ...missing].join(' ')}\n`
}

/** Replaces every secret in a text with `***` (tokens, passwords) before it is shown. */
export function redact(text: string, secrets: (string | undefined)[]): string {
  let out = text
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('***')
  return out
}

export interface BootstrapPlanInput {
  /** `user@address[:port]` of each host; the first is the server. */
  hosts: { label: string; address: string }[]
  source: InstallSource
  /** registries.yaml content, when the run manages it. */
  registries?: string
  fixCgroups: boolean
  context: string
  kubeconfig: string
}

/**
 * What `init --hosts --dry-run` prints: per host, in order, what would run. The join token is
 * shown as `***` (it is made at run time and never printed).
 *
 *   planBootstrap({ hosts: [{ label: 'pi@10.0.0.10', address: '10.0.0.10' }], source: { kind: 'online' }, … })
 *   → ['server pi@10.0.0.10', '  preflight: …', "  sudo curl -sfL https://get.k3s.io | K3S_TOKEN='***' …", …]
 */
export function planBootstrap(p: BootstrapPlanInput): string[] {
  const token = '***'
  const server = p.hosts[0]
  const serverUrl = `https://${server.address.includes(':') ? `[${server.address}]` : server.address}:6443`
  const lines: string[] = []
  p.hosts.forEach((h, i) => {
    lines.push(`${i === 0 ? 'server' : 'agent '} ${h.label}`)
    lines.push(
      '  preflight: ssh (known_hosts), sudo, arch, OS, memory, disk, clock skew, hostname, ports 6443/10250, cgroup flags',
    )
    if (p.fixCgroups) {
      lines.push(
        `  when missing: append ${CGROUP_FLAGS.join(' ')} to cmdline.txt (backup cmdline.txt.edgecanary.bak), reboot, wait`,
      )
    }
    if (p.registries) lines.push('  write /etc/rancher/k3s/registries.yaml (0600) when it differs')
    if (p.source.kind === 'airgap') {
      lines.push(
        '  upload k3s → /usr/local/bin/k3s (0755, sha256 checked), install script → /tmp/k3s-install.sh',
      )
    }
    if (p.source.kind === 'online') lines.push(`  unless k3s is installed: ${downloadInstallerCommand()}`)
    const env = installEnv(
      p.source,
      token,
      i === 0 ? { role: 'server', tlsSan: h.address } : { role: 'agent', serverUrl },
    )
    lines.push(
      `  unless k3s is installed: write ${INSTALL_ENV_FILE} (0600, root; over stdin, never a command line):`,
    )
    lines.push(
      ...env
        .trimEnd()
        .split('\n')
        .map((l) => `    ${l}`),
    )
    const script =
      p.source.kind === 'airgap' ? (p.source.script ?? '/tmp/k3s-install.sh') : DOWNLOADED_INSTALLER
    lines.push(`  unless k3s is installed: sudo sh -c ${q(runInstallerCommand(INSTALL_ENV_FILE, script))}`)
  })
  lines.push(`then: fetch /etc/rancher/k3s/k3s.yaml from ${server.label}, server → ${serverUrl}`)
  lines.push(
    `      merge as context ${p.context} into ${p.kubeconfig} (0600), wait for ${p.hosts.length} node(s) Ready`,
  )
  if (p.registries)
    lines.push(
      'registries.yaml:',
      ...p.registries
        .trimEnd()
        .split('\n')
        .map((l) => `  ${l}`),
    )
  return lines
}
