import { Command, Flags, type Interfaces } from '@oclif/core'
import { parseErrorLine } from './cli/parse-error.js'
import { EdgecanaryError, errorJson, exitCodeOf } from './errors.js'

/** Flags every cluster-facing command shares, with kubectl's names and meanings. */
export const clusterFlags = {
  kubeconfig: Flags.string({
    description: 'path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)',
  }),
  context: Flags.string({ description: 'kubeconfig context to use (default: the current context)' }),
  namespace: Flags.string({
    char: 'n',
    description: 'namespace (default: from edgecanary.yaml, else the context)',
  }),
}

export const configFlag = {
  config: Flags.string({ description: 'path to edgecanary.yaml', default: 'edgecanary.yaml' }),
}

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<T['flags']>

/**
 * Base of every edgecanary command: one place that turns typed errors into a one-line
 * message plus hint (or a JSON document with --json) and the exit code from `exitCodeOf`.
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  protected override async catch(
    err: Error & { exitCode?: number; oclif?: { exit?: number } },
  ): Promise<unknown> {
    // oclif's own parse errors (unknown flag, missing arg) are usage errors: exit 2.
    const isParseError =
      err.oclif?.exit === 2 ||
      /Unexpected argument|Nonexistent flag|Missing required|Expected --|Parsing --|expects a value/.test(
        err.message,
      )
    if (!(err instanceof EdgecanaryError) && !isParseError) {
      if (err.oclif?.exit !== undefined && err.oclif.exit !== 1) throw err // oclif exit() calls
    }
    const code = isParseError ? 2 : exitCodeOf(err)
    // oclif spreads a parse error over lines; keep its detail in the one line we print
    const parseLine = isParseError ? parseErrorLine(err.message) : undefined
    const helpHint = `see: edgecanary ${(this.id ?? '').replaceAll(':', ' ')} --help`
    if (this.jsonEnabled()) {
      const doc = parseLine
        ? { error: { code: 'USAGE', message: parseLine, hint: helpHint } }
        : errorJson(err)
      process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`)
    } else {
      const first = parseLine ?? (err.message || String(err)).split('\n')[0]
      process.stderr.write(`Error: ${first}\n`)
      const hint = err instanceof EdgecanaryError ? err.hint : isParseError ? helpHint : undefined
      if (hint) process.stderr.write(`Hint: ${hint}\n`)
      if (process.env.EDGECANARY_DEBUG && err.stack) process.stderr.write(`${err.stack}\n`)
    }
    process.exitCode = code
    return this.exit(code)
  }

  /** Logs go to stderr so that --json keeps stdout for one document. */
  protected info(line: string): void {
    if (!this.jsonEnabled()) process.stderr.write(`${line}\n`)
  }
}
