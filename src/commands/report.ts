import { writeFileSync } from 'node:fs'
import { Args, Flags } from '@oclif/core'
import { BaseCommand, clusterFlags, configFlag } from '../base-command.js'
import { resolveContext } from '../cli/context.js'
import { type ReleaseReport, releaseReport } from '../core/timeline.js'
import { UsageError } from '../errors.js'
import { findRelease } from '../report/find-release.js'
import { htmlReport } from '../report/html.js'
import { markdownReport } from '../report/markdown.js'

export default class Report extends BaseCommand {
  static override description =
    'The evidence of a release: its timeline (pod ratio, success rate, p50/p99 of canary against stable per analysis interval, gates, fast-fail evidence, phases) as one self-contained HTML page with SVG charts, Markdown tables, or JSON. Read from the cluster, so any machine can make it.'
  static override examples = [
    '<%= config.bin %> report                                  # the latest release, HTML to edgecanary-<app>-<version>.html',
    '<%= config.bin %> report 2.0 --format markdown >> "$GITHUB_STEP_SUMMARY"',
    '<%= config.bin %> report 2.0 --json | jq ".steps[].intervals[].canary.p99Ms"',
    '<%= config.bin %> report --format html --output release.html -n production',
  ]
  static override args = {
    version: Args.string({ description: 'the release to show (default: the latest)' }),
  }
  static override flags = {
    ...clusterFlags,
    ...configFlag,
    app: Flags.string({ description: 'app name (default: from edgecanary.yaml)' }),
    format: Flags.string({
      description: 'html, markdown or json',
      options: ['html', 'markdown', 'json'],
      default: 'html',
    }),
    output: Flags.string({
      char: 'o',
      description:
        'file to write (default: html to edgecanary-<app>-<version>.html, markdown and json to stdout)',
    }),
  }

  async run(): Promise<ReleaseReport & { output?: string }> {
    const { args, flags } = await this.parse(Report)
    const ctx = await resolveContext(flags, { app: flags.app, findRelease: true })
    await ctx.cluster.ping()
    const found = await findRelease(ctx.cluster, ctx.namespace, ctx.app, args.version)
    if (!found) {
      throw new UsageError(
        args.version
          ? `no release ${args.version} of ${ctx.app} in ${ctx.namespace}`
          : `no releases of ${ctx.app} in ${ctx.namespace} yet`,
        { hint: 'see `edgecanary history` for the releases the cluster keeps (the last 20)' },
      )
    }
    const report = releaseReport(found)
    const text =
      flags.format === 'html'
        ? htmlReport(report)
        : flags.format === 'markdown'
          ? markdownReport(report)
          : `${JSON.stringify(report, null, 2)}\n`
    const output =
      flags.output ?? (flags.format === 'html' ? `edgecanary-${ctx.app}-${report.version}.html` : undefined)
    if (output) {
      writeFileSync(output, text)
      this.info(`wrote ${flags.format} report of ${ctx.app} ${report.version} (${report.phase}) to ${output}`)
    } else if (!this.jsonEnabled()) process.stdout.write(text)
    return output ? { ...report, output } : report
  }
}
