import { Flags } from '@oclif/core'
import { BaseCommand, clusterFlags, configFlag } from '../base-command.js'
import { resolveContext } from '../cli/context.js'
import { FINAL_PHASES, type Phase } from '../release/state.js'
import { followReleaseStatus, releaseStatus, type StatusReport } from '../release/status.js'

const ended = (phase: string) => phase === 'NotFound' || FINAL_PHASES.includes(phase as Phase)

export default class Status extends BaseCommand {
  static override description =
    'Show the release of the app: phase, step, replica ratio, versions, ready pods, last analysis (from cluster state; works from any directory)'
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --watch',
    '<%= config.bin %> status -n production --json',
  ]
  static override flags = {
    ...clusterFlags,
    ...configFlag,
    app: Flags.string({ description: 'app name (default: from edgecanary.yaml, else kubeapp)' }),
    watch: Flags.boolean({
      char: 'w',
      description: 'print again whenever something changes; exits when the release ends (Ctrl-C stops)',
    }),
  }

  async run(): Promise<StatusReport> {
    const { flags } = await this.parse(Status)
    const ctx = await resolveContext(flags, { app: flags.app, findRelease: true })
    await ctx.cluster.ping()
    let last = ''
    const show = (r: StatusReport) => {
      const text = render(r)
      if (text !== last && !this.jsonEnabled())
        process.stdout.write(`${flags.watch ? `[${new Date().toLocaleTimeString()}]\n` : ''}${text}\n`)
      last = text
    }
    const now = await releaseStatus(ctx.cluster, ctx.namespace, ctx.app)
    show(now)
    if (!flags.watch || ended(now.phase)) return now
    // --watch follows a release to its end (Succeeded, RolledBack, Aborted) by watches, then exits
    return followReleaseStatus(ctx.cluster, ctx.namespace, ctx.app, show, { done: (r) => ended(r.phase) })
  }
}

function render(r: StatusReport): string {
  const lines = [
    `${r.app} in ${r.namespace}: ${r.phase}${r.version ? ` (release ${r.version}${r.previousVersion ? ` from ${r.previousVersion}` : ''})` : ''}`,
    `  ratio     stable ${r.ratio?.split(':')[0]} : canary ${r.ratio?.split(':')[1]}${r.step ? `   step ${r.step}` : ''}`,
    `  stable    ${r.stable.ready}/${r.stable.replicas} ready   ${r.stable.image ?? ''}`,
    `  canary    ${r.canary.ready}/${r.canary.replicas} ready   ${r.canary.image ?? ''}${r.canary.warming ? `   (${r.canary.warming} starting for the next step)` : ''}`,
  ]
  if (r.holder) lines.push(`  held by   ${r.holder}`)
  if (r.lastAnalysis)
    lines.push(
      `  analysis  ${r.lastAnalysis.ok ? 'ok' : `failed: ${r.lastAnalysis.reason}`} (${r.lastAnalysis.canaryRequests} canary requests, ${r.lastAnalysis.canaryErrors} errors${r.lastAnalysis.p99Ms !== undefined ? `, p99 ${r.lastAnalysis.p99Ms}ms` : ''})`,
    )
  if (r.reason) lines.push(`  reason    ${r.reason}`)
  if (r.drift) lines.push(`  drift     ${r.drift}`)
  if (r.advice) lines.push(`  next      ${r.advice}`)
  return lines.join('\n')
}
