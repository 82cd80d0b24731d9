import { Flags } from '@oclif/core'
import { BaseCommand, clusterFlags, configFlag } from '../base-command.js'
import { resolveContext } from '../cli/context.js'
import { ReleaseFailed } from '../errors.js'
import { abortFleet, contextsFlag, isFleet } from '../fleet/cli.js'
import { withProgress } from '../progress.js'
import { requestControl } from '../release/control.js'

export default class Abort extends BaseCommand {
  static override description =
    'Roll back the release in progress now: stable back to full strength and Ready, then the canary to 0; safe from another terminal'
  static override examples = [
    '<%= config.bin %> abort',
    '<%= config.bin %> abort -n production --json',
    '<%= config.bin %> abort --contexts pi-shop-1,pi-shop-2,pi-shop-3',
  ]
  static override flags = {
    ...clusterFlags,
    ...configFlag,
    app: Flags.string({ description: 'app name' }),
    ...contextsFlag,
  }

  async run(): Promise<object> {
    const { flags } = await this.parse(Abort)
    // a fleet: stop it, roll back what is under way (src/fleet)
    if (isFleet(flags)) return abortFleet(flags, { json: this.jsonEnabled(), info: (l) => this.info(l) })
    const ctx = await resolveContext(flags, { app: flags.app, findRelease: true })
    await ctx.cluster.ping()
    try {
      return await withProgress('abort', { json: this.jsonEnabled() }, (progress) =>
        requestControl(ctx.cluster, progress, { ns: ctx.namespace, config: ctx.config, request: 'abort' }),
      )
    } catch (err) {
      // the roll back this command asked for is its success
      if (err instanceof ReleaseFailed) {
        this.info(err.message)
        return { delegated: false, phase: 'Aborted', reason: err.message }
      }
      throw err
    }
  }
}
