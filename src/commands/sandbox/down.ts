import { Flags } from '@oclif/core'
import { BaseCommand } from '../../base-command.js'
import { removeSandboxContext } from '../../sandbox/kubeconfig-merge.js'
import { stopByPid } from '../../sandbox/lifecycle.js'
import { edgecanaryHome, sandboxPaths } from '../../sandbox/paths.js'

export default class SandboxDown extends BaseCommand {
  static override description =
    'Stop the sandbox cluster (pods get SIGTERM, then SIGKILL after their grace period) and remove its kubeconfig context; objects are kept for the next `up`'
  static override examples = ['<%= config.bin %> sandbox down', '<%= config.bin %> sandbox down --json']
  static override flags = {
    kubeconfig: Flags.string({
      description: 'kubeconfig to remove the context from (default: $KUBECONFIG or ~/.kube/config)',
    }),
  }

  async run(): Promise<{ stopped: boolean; contextRemoved: boolean }> {
    const { flags } = await this.parse(SandboxDown)
    const paths = sandboxPaths(edgecanaryHome())
    const stopped = await stopByPid(paths)
    const contextRemoved = removeSandboxContext(flags.kubeconfig)
    this.info(stopped ? 'sandbox stopped' : 'sandbox was not running')
    return { stopped, contextRemoved }
  }
}
