import type { Hook } from '@oclif/core'
import { unknownCommand } from '../cli/unknown-command.js'

/**
 * oclif's own answer to words that name no command is `command status:extra not found` with
 * no hint; this gives the CLI's usual one line, a hint, and exit 2 (a JSON document with --json).
 */
const hook: Hook.CommandNotFound = async (opts) => {
  const commands = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id)
  const topics = opts.config.topics.map((t) => t.name)
  const { message, hint } = unknownCommand(opts.id, commands, topics)
  if ((opts.argv ?? []).includes('--json'))
    process.stdout.write(`${JSON.stringify({ error: { code: 'USAGE', message, hint } }, null, 2)}\n`)
  else process.stderr.write(`Error: ${message}\nHint: ${hint}\n`)
  process.exitCode = 2
}

export default hook
