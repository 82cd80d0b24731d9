import { Flags } from '@oclif/core'
import { BaseCommand, clusterFlags, configFlag } from '../base-command.js'
import { resolveContext } from '../cli/context.js'
import { readHistory } from '../release/state.js'

export default class History extends BaseCommand {
  static override description = 'List the past releases of the app (the last 20, kept in the cluster)'
  static override examples = ['<%= config.bin %> history', '<%= config.bin %> history -n production --json']
  static override flags = { ...clusterFlags, ...configFlag, app: Flags.string({ description: 'app name' }) }

  async run(): Promise<{
    releases: {
      version: string
      phase: string
      previousVersion?: string
      reason?: string
      startedAt: string
      updatedAt: string
      timings?: { failureSeenAt?: string; rollbackDoneAt?: string }
    }[]
  }> {
    const { flags } = await this.parse(History)
    const ctx = await resolveContext(flags, { app: flags.app, findRelease: true })
    await ctx.cluster.ping()
    const list = await readHistory(ctx.cluster, ctx.namespace, ctx.app)
    const releases = list.map((s) => ({
      version: s.version,
      phase: s.phase,
      previousVersion: s.previousVersion,
      reason: s.reason,
      startedAt: s.startedAt,
      updatedAt: s.updatedAt,
      ...(s.timings ? { timings: s.timings } : {}),
    }))
    if (!this.jsonEnabled()) {
      if (releases.length === 0) process.stdout.write(`no releases of ${ctx.app} in ${ctx.namespace} yet\n`)
      for (const r of releases)
        process.stdout.write(
          `${r.updatedAt}  ${r.version.padEnd(10)} ${r.phase.padEnd(11)} from ${r.previousVersion ?? '?'}${r.reason ? `  — ${r.reason}` : ''}\n`,
        )
    }
    return { releases }
  }
}
