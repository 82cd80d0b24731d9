import { existsSync, readFileSync, statSync } from 'node:fs'
import { isIP } from 'node:net'
import { join, resolve } from 'node:path'
import { Flags } from '@oclif/core'
import { BaseCommand, type BaseFlags } from '../../base-command.js'
import { assignNodeArchs, type NodeArch, SANDBOX_ARCHES } from '../../core/node-archs.js'
import { parseRegistries, type RegistriesConfig } from '../../core/registry-mirrors.js'
import { UsageError } from '../../errors.js'
import { mergeSandboxContext } from '../../sandbox/kubeconfig-merge.js'
import {
  assertEmulators,
  assertSupportedPlatform,
  readState,
  runningPid,
  startBackground,
  writePid,
} from '../../sandbox/lifecycle.js'
import { readJoinToken } from '../../sandbox/node-join.js'
import { edgecanaryHome, type SandboxState, sandboxPaths } from '../../sandbox/paths.js'
import { runSandbox } from '../../sandbox/server.js'

export default class SandboxUp extends BaseCommand {
  static override description =
    'Start the embedded k3s-like sandbox cluster and registry in the background, and make context edgecanary-sandbox current'
  static override examples = [
    '<%= config.bin %> sandbox up',
    '<%= config.bin %> sandbox up --nodes 2 --arch arm64',
    '# a mixed cluster: architectures round-robin (pi-1 arm64, pi-2 arm, pi-3 amd64, pi-4 arm64)',
    '<%= config.bin %> sandbox up --arch arm64,arm,amd64',
    '# or by node name (the others keep --arch)',
    '<%= config.bin %> sandbox up --nodes 3 --nodes-arch pi-1=arm64,pi-2=arm',
    '# k3s registries.yaml; "mirrors: {docker.io: {}}" serves Docker Hub names (image: busybox) from the embedded registry',
    '<%= config.bin %> sandbox up --registries ./registries.yaml',
    'EDGECANARY_HOME=/tmp/ec <%= config.bin %> sandbox up --json',
    '# as a k3s server that nodes join later (what the stand-in k3s installer runs)',
    '<%= config.bin %> sandbox up --foreground --nodes 0 --address 10.0.0.2 --api-port 6443 --join-token-file /etc/ec/token --write-kubeconfig /etc/rancher/k3s/k3s.yaml',
  ]
  static override flags = {
    nodes: Flags.integer({
      description: 'number of virtual nodes (pi-1 … pi-N); 0 starts a server that nodes join later',
      default: 4,
      min: 0,
      max: 16,
    }),
    arch: Flags.string({
      description:
        'node architecture(s): arm64, arm (32-bit armv7, e.g. Raspberry Pi OS 32-bit) or amd64; a comma-separated list is assigned to the nodes round-robin. Foreign binaries run through qemu-<arch>-static, a binary of another architecture than its node fails with exec format error',
      default: 'arm64',
    }),
    'nodes-arch': Flags.string({
      description:
        'architectures by node name, NAME=ARCH,... (e.g. pi-1=arm64,pi-2=arm); other nodes keep --arch',
    }),
    kubeconfig: Flags.string({
      description: 'kubeconfig to merge the context into (default: $KUBECONFIG or ~/.kube/config)',
    }),
    foreground: Flags.boolean({
      description: 'run the cluster in this process until SIGTERM/SIGINT (tests, debugging)',
    }),
    'exit-with-parent': Flags.boolean({
      description:
        'with --foreground: stop (pods included) when the process that started this one is gone, so a killed test run leaves no cluster behind',
      hidden: true,
    }),
    'backoff-base': Flags.integer({
      description: 'crash-loop/image-pull back-off base in ms (Kubernetes: 10000)',
      default: 10_000,
      hidden: true,
    }),
    'node-grace': Flags.integer({
      description: 'ms a NotReady node keeps its pods before eviction',
      default: 5_000,
      hidden: true,
    }),
    address: Flags.string({
      description:
        'IP address the API server and LoadBalancer/NodePort Services bind to and report in status.loadBalancer (pods stay on loopback); it is added to the API certificate',
      default: '127.0.0.1',
      hidden: true,
    }),
    'api-port': Flags.integer({
      description: 'API server port, as k3s uses 6443 (default: the port of the last run, else a free one)',
      min: 1,
      max: 65_535,
      hidden: true,
    }),
    'tls-san': Flags.string({
      description: 'extra IP address or DNS name for the API certificate, as k3s --tls-san (repeatable)',
      multiple: true,
      hidden: true,
    }),
    'join-token-file': Flags.string({
      description:
        'file holding a join token (like K3S_TOKEN): `POST /admin/join` with `Authorization: Bearer <token>` and {"name","arch"} adds a node; the token grants nothing else',
      hidden: true,
    }),
    registries: Flags.string({
      description:
        'k3s registries.yaml with registry mirrors (endpoint, rewrite) and configs (auth, tls); default: $EDGECANARY_HOME/registries.yaml when present. A mirror with no endpoint is served by the embedded registry',
    }),
    'write-kubeconfig': Flags.string({
      description:
        'also write a kubeconfig as k3s writes /etc/rancher/k3s/k3s.yaml (context "default", server https://127.0.0.1:<port>, admin client certificate; mode 0600)',
      hidden: true,
    }),
  }

  async run(): Promise<SandboxState & { context: string; kubeconfig: string; alreadyRunning: boolean }> {
    const { flags } = await this.parse(SandboxUp)
    assertSupportedPlatform()
    if (!isIP(flags.address))
      throw new UsageError(`--address ${flags.address} is not an IP address`, {
        hint: 'pass the IP the server should listen on, e.g. --address 192.168.1.10',
      })
    const assigned = assignNodeArchs(flags.nodes, flags.arch, flags['nodes-arch'])
    if ('problem' in assigned)
      throw new UsageError(assigned.problem, {
        hint: `e.g. --arch arm64,arm or --nodes-arch pi-1=arm64,pi-2=arm (architectures: ${SANDBOX_ARCHES.join(', ')})`,
      })
    assertEmulators(assigned.nodes.map((n) => n.arch))
    const paths = sandboxPaths(edgecanaryHome())
    // checked before anything starts: a bad file is a usage error, nothing changed
    const registries = loadRegistries(flags.registries, edgecanaryHome())
    const pid = runningPid(paths)
    if (flags.foreground) {
      if (pid !== undefined && pid !== process.pid) {
        throw new UsageError(`a sandbox is already running (pid ${pid})`, {
          hint: 'run `edgecanary sandbox down` first',
        })
      }
      await this.foreground(paths, flags, assigned.nodes, registries)
      return this.exit(0)
    }
    let state = pid === undefined ? undefined : readState(paths)
    const alreadyRunning = state !== undefined
    if (!state) {
      this.info('starting the sandbox cluster …')
      state = await startBackground({
        paths,
        entry: join(this.config.root, 'bin', 'run.js'),
        args: [
          'sandbox',
          'up',
          '--foreground',
          `--nodes=${flags.nodes}`,
          `--arch=${flags.arch}`,
          ...(flags['nodes-arch'] ? [`--nodes-arch=${flags['nodes-arch']}`] : []),
          `--backoff-base=${flags['backoff-base']}`,
          `--node-grace=${flags['node-grace']}`,
          ...serverArgs(flags),
        ],
        env: process.env,
      })
    }
    const kubeconfig = mergeSandboxContext(paths, flags.kubeconfig)
    this.info(
      `${alreadyRunning ? 'already running' : 'ready'}: API ${state.apiUrl}, registry ${state.registry}, nodes ${state.nodes.join(', ')} (${state.arch})`,
    )
    this.info(`context edgecanary-sandbox is current in ${kubeconfig}; try: kubectl get nodes`)
    return { ...state, context: 'edgecanary-sandbox', kubeconfig, alreadyRunning }
  }

  private async foreground(
    paths: ReturnType<typeof sandboxPaths>,
    flags: UpFlags,
    nodeArchs: NodeArch[],
    registries: RegistriesConfig | undefined,
  ): Promise<void> {
    const sandbox = await runSandbox({
      paths,
      nodes: flags.nodes,
      arch: flags.arch,
      nodeArchs,
      backoffBaseMs: flags['backoff-base'],
      nodeGraceMs: flags['node-grace'],
      address: flags.address === '127.0.0.1' ? undefined : flags.address,
      apiPort: flags['api-port'],
      tlsSans: flags['tls-san'],
      joinToken: flags['join-token-file'] ? readJoinToken(flags['join-token-file']) : undefined,
      writeKubeconfig: flags['write-kubeconfig'],
      registries,
    })
    writePid(paths, process.pid)
    process.stderr.write(`sandbox ready: ${sandbox.state.apiUrl} registry ${sandbox.state.registry}\n`)
    await new Promise<void>((resolve) => {
      let stopping = false
      const stop = () => {
        if (stopping) return
        stopping = true
        process.stderr.write('sandbox stopping: pods get SIGTERM\n')
        sandbox.stop().then(resolve, (err) => {
          process.stderr.write(`sandbox stop failed: ${String(err)}\n`)
          resolve()
        })
      }
      process.on('SIGTERM', stop)
      process.on('SIGINT', stop)
      if (flags['exit-with-parent']) {
        // an orphan is re-parented (to init or a subreaper): its parent pid changes
        const parent = process.ppid
        const check = setInterval(() => {
          if (process.ppid === parent) return
          clearInterval(check)
          process.stderr.write('sandbox: the process that started it is gone\n')
          stop()
        }, 500)
      }
      // SIGHUP restarts the API server part (the `sandbox fault api-restart` fault).
      process.on('SIGHUP', () => {
        sandbox.faults.restartApi?.().then(
          () => process.stderr.write('api server restarted\n'),
          (err) => process.stderr.write(`api restart failed: ${String(err)}\n`),
        )
      })
    })
  }
}

type UpFlags = BaseFlags<typeof SandboxUp>

/** The server flags, passed on to the background process (paths made absolute: it may run elsewhere). */
function serverArgs(flags: UpFlags): string[] {
  return [
    ...(flags.address === '127.0.0.1' ? [] : [`--address=${flags.address}`]),
    ...(flags['api-port'] === undefined ? [] : [`--api-port=${flags['api-port']}`]),
    ...(flags['tls-san'] ?? []).map((san) => `--tls-san=${san}`),
    ...(flags['join-token-file'] ? [`--join-token-file=${resolve(flags['join-token-file'])}`] : []),
    ...(flags['write-kubeconfig'] ? [`--write-kubeconfig=${resolve(flags['write-kubeconfig'])}`] : []),
    ...(flags.registries ? [`--registries=${resolve(flags.registries)}`] : []),
  ]
}

/** `--registries FILE`, else `$EDGECANARY_HOME/registries.yaml` when it exists, parsed as k3s reads it. */
function loadRegistries(flag: string | undefined, home: string): RegistriesConfig | undefined {
  const file = flag ?? join(home, 'registries.yaml')
  if (!flag && !existsSync(file)) return undefined
  if (!existsSync(file) || !statSync(file).isFile())
    throw new UsageError(`--registries ${flag}: no such file`, {
      hint: 'pass a k3s registries.yaml, e.g. mirrors: { docker.io: { endpoint: ["http://127.0.0.1:5000"] } }',
    })
  if (statSync(file).size > 64 * 1024)
    throw new UsageError(`${file}: larger than 64 KiB`, {
      hint: 'a registries.yaml is a few lines of mirrors and configs',
    })
  return parseRegistries(readFileSync(file, 'utf8'), file)
}
