import { join } from 'node:path'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../../base-command.js'
import {
  DEFAULT_REGISTRY_PORT,
  listenAddress,
  type RegistryState,
  readRegistryState,
  registryPaths,
  registryStatus,
  removeOwnPid,
  serveRegistry,
  startRegistryBackground,
} from '../../registry/daemon.js'
import { edgecanaryHome } from '../../sandbox/paths.js'

export default class RegistryUp extends BaseCommand {
  static override description =
    'Serve the embedded OCI registry in the background over plain HTTP, so that Pi nodes can pull from this machine; storage, pid file and log under $EDGECANARY_HOME/registry. A second `up` is a no-op'
  static override examples = [
    '<%= config.bin %> registry up',
    "# for Pi nodes on the LAN: listen on the laptop's LAN address",
    '<%= config.bin %> registry up --address 192.168.1.20 --port 5000',
    '<%= config.bin %> registry up --json',
  ]
  static override flags = {
    address: Flags.string({
      description: "IP address to listen on; Pi nodes need the laptop's LAN address (default: 127.0.0.1)",
    }),
    port: Flags.integer({
      description: `port to listen on (default: the port of the last run, else ${DEFAULT_REGISTRY_PORT})`,
      min: 1,
      max: 65_535,
    }),
    foreground: Flags.boolean({
      description: 'serve in this process until SIGTERM/SIGINT (what the background process runs)',
      hidden: true,
    }),
  }

  async run(): Promise<RegistryState & { alreadyRunning: boolean }> {
    const { flags } = await this.parse(RegistryUp)
    const paths = registryPaths(edgecanaryHome())
    const status = registryStatus(paths)
    const running = status.running ? readRegistryState(paths) : undefined
    const where = listenAddress(flags, readRegistryState(paths), running)
    if (flags.foreground) {
      await this.foreground(paths, where)
      return this.exit(0)
    }
    if (running) {
      this.info(`already running: ${running.url} (pid ${running.pid})`)
      return { ...running, alreadyRunning: true }
    }
    const state = await startRegistryBackground({
      paths,
      entry: join(this.config.root, 'bin', 'run.js'),
      where,
      env: process.env,
    })
    this.info(`registry ready: ${state.url} (pid ${state.pid}); push to ${state.host}/<name>:<tag>`)
    return { ...state, alreadyRunning: false }
  }

  private async foreground(
    paths: ReturnType<typeof registryPaths>,
    where: { address: string; port: number },
  ): Promise<void> {
    const { state, registry } = await serveRegistry(paths, where)
    process.stderr.write(`registry ready: ${state.url} storage ${state.dataDir}\n`)
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.stderr.write('registry stopping\n')
        registry.close().then(resolve, resolve)
      }
      process.once('SIGTERM', stop)
      process.once('SIGINT', stop)
    })
    removeOwnPid(paths)
  }
}
