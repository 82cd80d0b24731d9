import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { Flags } from '@oclif/core'
import { connectCluster } from '../adapters/kube-cluster.js'
import { connectShell } from '../adapters/ssh-shell.js'
import { type HostTarget, hostLabel, resolveHosts } from '../bootstrap/hosts.js'
import { planBootstrap, type RegistryTrust, registriesYaml } from '../bootstrap/plan.js'
import type { BootstrapDeps, InstallFiles } from '../bootstrap/service.js'
import { UsageError } from '../errors.js'
import { kubeconfigPath, mergeIntoKubeconfig, removeContextFromKubeconfig } from '../kubeconfig-file.js'
import { readPasswordStdin } from '../read-stdin.js'
import { dockerCredentials } from '../registry/docker-credentials.js'

/** The SSH bootstrap flags of `init` (all but --hosts are ignored without --hosts). */
export const bootstrapFlags = {
  hosts: Flags.string({
    description:
      'bootstrap k3s over SSH first: comma list of [user@]host[:port]; the first is the server, the rest agents',
  }),
  user: Flags.string({ description: 'SSH user for hosts that name none (default: ~/.ssh/config, else pi)' }),
  port: Flags.integer({ description: 'SSH port for hosts that name none (default: ~/.ssh/config, else 22)' }),
  'ssh-key': Flags.string({
    description: 'private key to log in with (default: ~/.ssh/config, ~/.ssh/id_*, the agent)',
  }),
  'sudo-password-stdin': Flags.boolean({ description: 'read the sudo password of the hosts from stdin' }),
  'accept-new-host-keys': Flags.boolean({
    description:
      'first contact: record unknown host keys in ~/.ssh/known_hosts (a changed key is always refused)',
  }),
  'fix-cgroups': Flags.boolean({
    description:
      'append cgroup_memory=1 cgroup_enable=memory to cmdline.txt where missing (backup kept) and reboot',
  }),
  'k3s-version': Flags.string({ description: 'k3s version for the online installer, e.g. v1.32.3+k3s1' }),
  'k3s-channel': Flags.string({ description: 'k3s channel for the online installer (default: stable)' }),
  'k3s-binary': Flags.string({ description: 'airgap: the k3s binary to upload (with --k3s-install-script)' }),
  'k3s-install-script': Flags.string({
    description: 'airgap: the k3s install.sh to upload (with --k3s-binary)',
  }),
  'registry-http': Flags.boolean({
    description: 'the nodes pull from --registry over plain HTTP (registries.yaml mirror http://…)',
  }),
  uninstall: Flags.boolean({
    description: 'with --hosts: run k3s’s uninstall scripts and remove the context',
  }),
}

export interface BootstrapFlagValues {
  hosts?: string
  user?: string
  port?: number
  'ssh-key'?: string
  'sudo-password-stdin': boolean
  'accept-new-host-keys': boolean
  'fix-cgroups': boolean
  'k3s-version'?: string
  'k3s-channel'?: string
  'k3s-binary'?: string
  'k3s-install-script'?: string
  'registry-http': boolean
  registry?: string
  kubeconfig?: string
  context?: string
}

export interface BootstrapSetup {
  targets: HostTarget[]
  install: InstallFiles
  /** registries.yaml trust for a named registry; `laptop` is resolved once the LAN address is known. */
  registry?: RegistryTrust | 'laptop'
  context: string
  kubeconfig: string
  deps: BootstrapDeps
  /** The --dry-run text. */
  plan(): string[]
}

/** Checks the flags and builds everything `runBootstrap` needs: exit 2 on any problem, before any SSH. */
export async function setupBootstrap(f: BootstrapFlagValues): Promise<BootstrapSetup> {
  const home = process.env.HOME ?? homedir()
  const sshConfigFile = join(home, '.ssh', 'config')
  if (f['ssh-key'] && !existsSync(f['ssh-key'])) {
    throw new UsageError(`--ssh-key ${f['ssh-key']} does not exist`, { hint: 'pass the private key file' })
  }
  const targets = resolveHosts(f.hosts ?? '', {
    user: f.user,
    port: f.port,
    keyFile: f['ssh-key'],
    sshConfig: existsSync(sshConfigFile) ? readFileSync(sshConfigFile, 'utf8') : '',
    home,
  })
  const install = installFiles(f)
  if (f['k3s-version'] && f['k3s-channel']) {
    throw new UsageError('--k3s-version and --k3s-channel exclude each other', { hint: 'pass one of them' })
  }
  let registry: RegistryTrust | 'laptop' | undefined
  if (f.registry === 'laptop') registry = 'laptop'
  else if (f.registry) {
    if (!/^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:]+\](:\d{1,5})?$/i.test(f.registry)) {
      throw new UsageError(`--registry "${f.registry}" is not HOST[:PORT]`, {
        hint: 'e.g. --registry registry.lan:5000, or --registry laptop',
      })
    }
    const auth = await dockerCredentials(f.registry)
    // registries.yaml carries a username and password; an identity token is the laptop's own login
    const basic =
      auth && !auth.identityToken ? { username: auth.username, password: auth.password } : undefined
    registry = { registry: f.registry, http: f['registry-http'], ...(basic ? { auth: basic } : {}) }
  }
  const sudoPassword = f['sudo-password-stdin'] ? await readPasswordStdin() : undefined
  const context = f.context ?? 'edgecanary'
  const kubeconfig = kubeconfigPath(f.kubeconfig)
  const deps: BootstrapDeps = {
    connect: (t) =>
      connectShell({
        host: t.address,
        port: t.port,
        user: t.user,
        ...(t.identityFiles.length ? { keyFiles: t.identityFiles } : {}),
        acceptNewHostKeys: f['accept-new-host-keys'],
        sudoPassword,
      }),
    // the context may live in any file of $KUBECONFIG: read them all, as kubectl does
    cluster: (_file, ctx) => connectCluster({ kubeconfig: f.kubeconfig, context: ctx }),
    mergeKubeconfig: (incoming, ctx) => void mergeIntoKubeconfig(f.kubeconfig, incoming, ctx),
    removeKubeconfigContext: (ctx) => removeContextFromKubeconfig(f.kubeconfig, ctx),
    nowS: () => Date.now() / 1000,
  }
  return {
    targets,
    install,
    registry,
    context,
    kubeconfig,
    deps,
    plan: () =>
      planBootstrap({
        hosts: targets.map((t) => ({ label: hostLabel(t), address: t.address })),
        source:
          install.kind === 'online'
            ? { kind: 'online', version: install.version, channel: install.channel }
            : { kind: 'airgap', script: '/tmp/k3s-install.sh' },
        registries:
          registry === 'laptop'
            ? registriesYaml({ registry: '<laptop LAN address>:5000', http: true })
            : registry
              ? registriesYaml({
                  ...registry,
                  ...(registry.auth ? { auth: { username: registry.auth.username, password: '***' } } : {}),
                })
              : undefined,
        fixCgroups: f['fix-cgroups'],
        context,
        kubeconfig,
      }),
  }
}

function installFiles(f: BootstrapFlagValues): InstallFiles {
  const bin = f['k3s-binary']
  const script = f['k3s-install-script']
  if (!bin && !script) return { kind: 'online', version: f['k3s-version'], channel: f['k3s-channel'] }
  if (!bin || !script) {
    throw new UsageError('airgap installs need both --k3s-binary and --k3s-install-script', {
      hint: 'download k3s-arm64 and install.sh from the k3s release page, then pass both',
    })
  }
  for (const p of [bin, script]) {
    if (!existsSync(p)) throw new UsageError(`${p} does not exist`, { hint: 'check the airgap file paths' })
  }
  const binary = readFileSync(bin)
  const text = readFileSync(script)
  // checked here, before any host is touched: an empty or non-script installer would "succeed"
  if (binary.length === 0)
    throw new UsageError(`--k3s-binary ${bin} is empty`, { hint: 'download k3s-arm64 again' })
  if (text.subarray(0, 2).toString() !== '#!') {
    throw new UsageError(`--k3s-install-script ${script} is not a shell script (it does not start with #!)`, {
      hint: 'pass install.sh from the k3s release (https://get.k3s.io), not an HTML page or an empty file',
    })
  }
  return { kind: 'airgap', binary, script: text }
}
