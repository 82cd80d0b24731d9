import { join } from 'node:path'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../../base-command.js'
import { UsageError } from '../../errors.js'
import { mergeSandboxContext } from '../../sandbox/kubeconfig-merge.js'
import {
  assertSupportedPlatform,
  readState,
  runningPid,
  startBackground,
  writePid,
} from '../../sandbox/lifecycle.js'
import { edgecanaryHome, type SandboxState, sandboxPaths } from '../../sandbox/paths.js'
import { runSandbox } from '../../sandbox/server.js'

export default class SandboxUp extends BaseCommand {
  static override description =
    'Start the embedded k3s-like sandbox cluster and registry in the background, and make context edgecanary-sandbox current'
  static override examples = [
    '<%= config.bin %> sandbox up',
    '<%= config.bin %> sandbox up --nodes 2 --arch arm64',
    'EDGECANARY_HOME=/tmp/ec <%= config.bin %> sandbox up --json',
  ]
  static override flags = {
    nodes: Flags.integer({
      description: 'number of virtual nodes (pi-1 … pi-N)',
      default: 4,
      min: 1,
      max: 16,
    }),
    arch: Flags.string({
      description: 'node architecture',
      options: ['arm64', 'amd64', 'arm'],
      default: 'arm64',
    }),
    kubeconfig: Flags.string({
      description: 'kubeconfig to merge the context into (default: $KUBECONFIG or ~/.kube/config)',
    }),
    foreground: Flags.boolean({
      description: 'run the cluster in this process until SIGTERM/SIGINT (tests, debugging)',
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
  }

  async run(): Promise<SandboxState & { context: string; kubeconfig: string; alreadyRunning: boolean }> {
    const { flags } = await this.parse(SandboxUp)
    assertSupportedPlatform()
    const paths = sandboxPaths(edgecanaryHome())
    const pid = runningPid(paths)
    if (flags.foreground) {
      if (pid !== undefined && pid !== process.pid) {
        throw new UsageError(`a sandbox is already running (pid ${pid})`, {
          hint: 'run `edgecanary sandbox down` first',
        })
      }
      await this.foreground(paths, flags)
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
          `--backoff-base=${flags['backoff-base']}`,
          `--node-grace=${flags['node-grace']}`,
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
    flags: { nodes: number; arch: string; 'backoff-base': number; 'node-grace': number },
  ): Promise<void> {
    const sandbox = await runSandbox({
      paths,
      nodes: flags.nodes,
      arch: flags.arch,
      backoffBaseMs: flags['backoff-base'],
      nodeGraceMs: flags['node-grace'],
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
