import { Flags } from '@oclif/core'
import { BaseCommand, clusterFlags, configFlag } from '../base-command.js'
import { resolveContext } from '../cli/context.js'
import { withProgress } from '../progress.js'
import { requestControl } from '../release/control.js'

export default class Promote extends BaseCommand {
  static override description =
    'Skip the remaining steps and promote the release in progress (--step: advance one step of a `release --pause`); safe from another terminal'
  static override examples = [
    '<%= config.bin %> promote',
    '<%= config.bin %> promote --step',
    '<%= config.bin %> promote -n production --json',
  ]
  static override flags = {
    ...clusterFlags,
    ...configFlag,
    app: Flags.string({ description: 'app name' }),
    step: Flags.boolean({ description: 'advance one step only' }),
  }

  async run(): Promise<object> {
    const { flags } = await this.parse(Promote)
    const ctx = await resolveContext(flags, { app: flags.app, findRelease: true })
    await ctx.cluster.ping()
    return withProgress('promote', { json: this.jsonEnabled() }, (progress) =>
      requestControl(ctx.cluster, progress, {
        ns: ctx.namespace,
        config: ctx.config,
        request: flags.step ? 'promote-step' : 'promote',
      }),
    )
  }
}
