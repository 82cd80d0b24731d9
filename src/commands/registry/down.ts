import { BaseCommand } from '../../base-command.js'
import { registryPaths, stopRegistry } from '../../registry/daemon.js'
import { edgecanaryHome } from '../../sandbox/paths.js'

export default class RegistryDown extends BaseCommand {
  static override description =
    'Stop the background registry by its PID (SIGTERM, SIGKILL after 10 s); images stay for the next `up`'
  static override examples = ['<%= config.bin %> registry down', '<%= config.bin %> registry down --json']

  async run(): Promise<{ stopped: boolean; pid?: number }> {
    await this.parse(RegistryDown)
    const result = await stopRegistry(registryPaths(edgecanaryHome()))
    this.info(result.stopped ? `registry stopped (pid ${result.pid})` : 'registry was not running')
    return result
  }
}
