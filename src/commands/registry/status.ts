import { BaseCommand } from '../../base-command.js'
import { type RegistryStatus, registryPaths, registryStatus } from '../../registry/daemon.js'
import { edgecanaryHome } from '../../sandbox/paths.js'

export default class RegistryStatusCommand extends BaseCommand {
  static override description = 'Show whether the background registry runs, its address, port and PID'
  static override examples = ['<%= config.bin %> registry status', '<%= config.bin %> registry status --json']

  async run(): Promise<RegistryStatus> {
    await this.parse(RegistryStatusCommand)
    const status = registryStatus(registryPaths(edgecanaryHome()))
    if (!status.running) {
      this.info('registry: not running (start it with `edgecanary registry up`)')
      return status
    }
    this.info(`registry: running (pid ${status.pid})`)
    this.info(`  address  ${status.url}`)
    this.info(`  storage  ${status.dataDir}`)
    this.info(`  log      ${status.logFile}`)
    return status
  }
}
