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

/**
 * The command that installs the k3s server, k3sup-style: a pure string, tested by exact match.
 * The token is generated on the laptop so agents can install in parallel with the server.
 *
 *   serverInstallCommand({ kind: 'online', version: 'v1.32.3+k3s1' }, { token: 'T', tlsSan: '10.0.0.10' })
 *   → "curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION='v1.32.3+k3s1' K3S_TOKEN='T' INSTALL_K3S_EXEC='server --tls-san 10.0.0.10 --write-kubeconfig-mode 600' sh -s -"
 */
export function serverInstallCommand(src: InstallSource, o: { token: string; tlsSan: string }): string {
  return installCommand(src, [
    `K3S_TOKEN=${q(o.token)}`,
    `INSTALL_K3S_EXEC=${q(`server --tls-san ${o.tlsSan} --write-kubeconfig-mode 600`)}`,
  ])
}

/**
 * The command that joins an agent to the server.
 *
 *   agentInstallCommand({ kind: 'online' }, { token: 'T', serverUrl: 'https://10.0.0.10:6443' })
 *   → "curl -sfL https://get.k3s.io | K3S_URL='https://10.0.0.10:6443' K3S_TOKEN='T' sh -s -"
 */
export function agentInstallCommand(src: InstallSource, o: { token: string; serverUrl: string }): string {
  return installCommand(src, [`K3S_URL=${q(o.serverUrl)}`, `K3S_TOKEN=${q(o.token)}`])
}

/** The installer invocation shared by server and agents: source variables first, then the role's. */
function installCommand(src: InstallSource, roleEnv: string[]): string {
  const env = [
    ...(src.kind === 'airgap' ? ["INSTALL_K3S_SKIP_DOWNLOAD='true'"] : []),
    ...(src.version
      ? [`INSTALL_K3S_VERSION=${q(src.version)}`]
      : src.channel
        ? [`INSTALL_K3S_CHANNEL=${q(src.channel)}`]
        : []),
    ...roleEnv,
  ].join(' ')
  return src.kind === 'airgap'
    ? `${env} sh ${q(src.script ?? '/tmp/k3s-install.sh')}`
    : `curl -sfL https://get.k3s.io | ${env} sh -s -`
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
    const cmd =
      i === 0
        ? serverInstallCommand(p.source, { token, tlsSan: h.address })
        : agentInstallCommand(p.source, { token, serverUrl })
    lines.push(`  unless k3s is installed: sudo ${cmd}`)
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
