import { Flags } from '@oclif/core'
import { BaseCommand, clusterFlags, configFlag } from '../base-command.js'
import { resolveContext } from '../cli/context.js'
import { redraw, renderStatus, watchDone } from '../cli/status-view.js'
import { contextsFlag, isFleet, statusFleet } from '../fleet/cli.js'
import type { FleetStatus } from '../fleet/control.js'
import type { Cluster } from '../ports.js'
import { followReleaseStatus, releaseStatus, type StatusReport } from '../release/status.js'

/** At most a day; `kubectl get -w` runs until stopped too. */
const WATCH_AT_MOST_MS = 24 * 3600_000

export default class Status extends BaseCommand {
  static override description =
    `Show the release of the app: phase, step, replica ratio, versions, ready pods, last analysis (from cluster state; works from any directory)

With --watch it follows the release in progress, or the next one when the last has ended, until that release ends (Ctrl-C stops): in a terminal the block is redrawn in place; otherwise a new block is printed on every change; with --json one JSON document per change, one per line (as kubectl get -w -o json).`
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --watch',
    '<%= config.bin %> status --watch --json | jq -c "{phase, step, ratio}"',
    '<%= config.bin %> status -n production --json',
    '<%= config.bin %> status --contexts pi-shop-1,pi-shop-2,pi-shop-3',
  ]
  static override flags = {
    ...clusterFlags,
    ...configFlag,
    app: Flags.string({ description: 'app name (default: from edgecanary.yaml, else kubeapp)' }),
    watch: Flags.boolean({
      char: 'w',
      description:
        'follow the release in progress (or the next one) until it ends, showing every change (Ctrl-C stops)',
    }),
    ...contextsFlag,
  }

  /** --watch --json wrote its documents as it went: no closing document from oclif. */
  private streamed = false

  async run(): Promise<StatusReport | FleetStatus> {
    const { flags } = await this.parse(Status)
    // a fleet: one row per cluster (src/fleet)
    if (isFleet(flags)) return statusFleet(flags, { json: this.jsonEnabled(), info: (l) => this.info(l) })
    const ctx = await resolveContext(flags, { app: flags.app, findRelease: true })
    await ctx.cluster.ping()
    if (flags.watch) return this.watch(ctx.cluster, ctx.namespace, ctx.app)
    const r = await releaseStatus(ctx.cluster, ctx.namespace, ctx.app)
    if (!this.jsonEnabled()) process.stdout.write(`${renderStatus(r)}\n`)
    return r
  }

  protected override logJson(json: unknown): void {
    if (!this.streamed) super.logJson(json)
  }

  /**
   * Follows the release by watches on the app's two Deployments and its Lease
   * (followReleaseStatus: no reads while nothing changes) and shows each report that differs:
   * redrawn in place in a terminal, one JSON document per line with --json, plain blocks
   * otherwise. Ends when the release it follows ends (watchDone), at most after a day.
   */
  private async watch(cluster: Cluster, ns: string, app: string): Promise<StatusReport> {
    const json = this.jsonEnabled()
    this.streamed = json
    const tty = !json && Boolean(process.stdout.isTTY)
    let first: StatusReport | undefined
    let shownText = ''
    let shownLines = 0
    const show = (r: StatusReport) => {
      first ??= r
      if (json) {
        const doc = JSON.stringify(r)
        if (doc !== shownText) process.stdout.write(`${doc}\n`)
        shownText = doc
        return
      }
      const text = renderStatus(r)
      if (text !== shownText) {
        if (tty) {
          process.stdout.write(redraw(shownLines, text, process.stdout.columns || 80))
          shownLines = text.split('\n').length
        } else process.stdout.write(`[${new Date().toLocaleTimeString()}]\n${text}\n`)
      }
      shownText = text
    }
    return followReleaseStatus(cluster, ns, app, show, {
      done: (r) => watchDone(first ?? r, r),
      maxMs: WATCH_AT_MOST_MS,
    })
  }
}
