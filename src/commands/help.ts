import { Args, Flags, Help } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { unknownCommand } from '../cli/unknown-command.js'
import { UsageError } from '../errors.js'

export default class HelpCommand extends BaseCommand {
  static override description = 'Show help for edgecanary or one of its commands (the same as COMMAND --help)'
  static override examples = [
    '<%= config.bin %> help',
    '<%= config.bin %> help release',
    '<%= config.bin %> help sandbox up',
    '<%= config.bin %> help release --json   # the command, its flags and examples as data',
  ]
  static override strict = false
  static override args = { command: Args.string({ description: 'command to show help for' }) }
  static override flags = {
    'nested-commands': Flags.boolean({ char: 'n', description: 'include the commands of each topic' }),
  }

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parse(HelpCommand)
    const words = (argv as string[]).filter((a) => !a.startsWith('-'))
    const id = words.join(':')
    const cmd = id ? this.config.findCommand(id) : undefined
    if (id && !cmd && !this.config.findTopic(id)) {
      const commands = this.config.commands.filter((c) => !c.hidden).map((c) => c.id)
      const { message, hint } = unknownCommand(
        id,
        commands,
        this.config.topics.map((t) => t.name),
      )
      throw new UsageError(message, { hint })
    }
    if (!this.jsonEnabled()) {
      await new Help(this.config, { all: flags['nested-commands'] }).showHelp(words)
      return undefined
    }
    if (!cmd) {
      const under = id ? `${id}:` : ''
      const ids = this.config.commands.filter((c) => !c.hidden && c.id.startsWith(under)).map((c) => c.id)
      return { commands: ids.map((c) => c.replaceAll(':', ' ')) }
    }
    const { id: cmdId, description, examples, flags: cmdFlags, args } = cmd
    return { id: cmdId.replaceAll(':', ' '), description, examples, flags: cmdFlags, args }
  }
}
