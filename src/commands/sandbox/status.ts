import { BaseCommand } from '../../base-command.js'
import { edgecanaryHome, sandboxPaths } from '../../sandbox/paths.js'
import { type SandboxStatus, sandboxStatus } from '../../sandbox/status.js'

export default class SandboxStatusCommand extends BaseCommand {
  static override description =
    'Show whether the sandbox runs, its API and registry addresses, nodes and pods'
  static override examples = ['<%= config.bin %> sandbox status', '<%= config.bin %> sandbox status --json']

  async run(): Promise<SandboxStatus> {
    await this.parse(SandboxStatusCommand)
    const status = await sandboxStatus(sandboxPaths(edgecanaryHome()))
    if (!status.running) {
      this.info('sandbox: not running (start it with `edgecanary sandbox up`)')
      return status
    }
    this.info(`sandbox: running (pid ${status.pid})`)
    this.info(`  API       ${status.apiUrl}`)
    this.info(`  registry  ${status.registry}`)
    for (const n of status.nodes)
      this.info(`  node      ${n.name.padEnd(8)} ${n.ready ? 'Ready' : 'NotReady'}  ${n.arch}`)
    this.info(`  pods      ${status.pods.length} (${status.pods.filter((p) => p.ready).length} ready)`)
    for (const p of status.pods)
      this.info(`    ${p.namespace}/${p.name}  ${p.phase}${p.ready ? ' ready' : ''}  ${p.node ?? ''}`)
    return status
  }
}
