import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../../base-command.js'
import { UsageError } from '../../errors.js'
import { FAULT_KINDS, type FaultKind, injectFault } from '../../sandbox/fault-client.js'
import { edgecanaryHome, sandboxPaths } from '../../sandbox/paths.js'

export default class SandboxFault extends BaseCommand {
  static override description = 'Inject a fault into the running sandbox (for tests and demos)'
  static override examples = [
    '<%= config.bin %> sandbox fault node-stop pi-2',
    '<%= config.bin %> sandbox fault node-start pi-2',
    '<%= config.bin %> sandbox fault api-error --status 500 --count 5',
    '<%= config.bin %> sandbox fault api-error --status 429 --seconds 3',
    '<%= config.bin %> sandbox fault api-restart',
    '<%= config.bin %> sandbox fault slow-pulls --ms 3000',
    '<%= config.bin %> sandbox fault registry-down',
    '<%= config.bin %> sandbox fault node-stop pi-2 --json',
  ]
  static override args = {
    kind: Args.string({ required: true, options: [...FAULT_KINDS], description: 'what to break or mend' }),
    target: Args.string({ description: 'node name for node-stop/node-start' }),
  }
  static override flags = {
    status: Flags.integer({
      description: 'HTTP status for api-error (500 or 429)',
      default: 500,
      options: ['500', '429'],
    }),
    count: Flags.integer({ description: 'api-error: number of requests that fail', min: 1 }),
    seconds: Flags.integer({ description: 'api-error: seconds during which requests fail', min: 1 }),
    ms: Flags.integer({
      description: 'slow-pulls: extra milliseconds per image pull (0 restores)',
      default: 2000,
      min: 0,
    }),
  }

  async run(): Promise<{ fault: string; target?: string }> {
    const { args, flags } = await this.parse(SandboxFault)
    const kind = args.kind as FaultKind
    if ((kind === 'node-stop' || kind === 'node-start') && !args.target) {
      throw new UsageError(`${kind} needs a node name`, {
        hint: `e.g. edgecanary sandbox fault ${kind} pi-2`,
      })
    }
    await injectFault(sandboxPaths(edgecanaryHome()), kind, {
      node: args.target,
      status: flags.status as 500 | 429,
      count: flags.count,
      seconds: flags.seconds,
      ms: flags.ms,
    })
    this.info(`fault ${kind}${args.target ? ` ${args.target}` : ''}: done`)
    return { fault: kind, target: args.target }
  }
}
