import { Flags } from '@oclif/core'
import { BaseCommand, clusterFlags, configFlag } from '../base-command.js'
import { resolveContext } from '../cli/context.js'
import { redraw, renderStatus, watchDone } from '../cli/status-view.js'
import { contextsFlag, isFleet, statusFleet } from '../fleet/cli.js'
import type { FleetStatus } from '../fleet/control.js'
import type { Cluster } from '../ports.js'
import { releaseStatus, type StatusReport } from '../release/status.js'

/** Reads every 2 s beside the watches: a broken watch ends quietly, and a Lease expires unseen. */
const READ_EVERY_MS = 2000
/** At most a day of reads (bounded loop); `kubectl get -w` runs until stopped too. */
const MAX_READS = 43_200

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
   * Watches the stable Deployment (it carries the release state) and the canary Deployment,
   * reads the status on every change (and every 2 s besides), and shows it when it differs.
   */
  private async watch(cluster: Cluster, ns: string, app: string): Promise<StatusReport> {
    const json = this.jsonEnabled()
    this.streamed = json
    const tty = !json && Boolean(process.stdout.isTTY)
    let changed = false
    let wake = () => {}
    const poke = () => {
      changed = true
      wake()
    }
    // the canary Deployment is named as the engine names it: `<app>-canary`
    const stops = [cluster.watchDeployment(ns, app, poke), cluster.watchDeployment(ns, `${app}-canary`, poke)]
    let first: StatusReport | undefined
    let last: StatusReport | undefined
    let shownText = ''
    let shownLines = 0
    try {
      for (let i = 0; i < MAX_READS; i++) {
        changed = false
        const r = await releaseStatus(cluster, ns, app)
        first ??= r
        last = r
        if (json) {
          const doc = JSON.stringify(r)
          if (doc !== shownText) process.stdout.write(`${doc}\n`)
          shownText = doc
        } else {
          const text = renderStatus(r)
          if (text !== shownText) {
            if (tty) {
              process.stdout.write(redraw(shownLines, text, process.stdout.columns || 80))
              shownLines = text.split('\n').length
            } else process.stdout.write(`[${new Date().toLocaleTimeString()}]\n${text}\n`)
          }
          shownText = text
        }
        if (watchDone(first, r)) return r
        if (changed) continue
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, READ_EVERY_MS)
          wake = () => {
            clearTimeout(t)
            resolve()
          }
        })
        wake = () => {}
      }
      return last ?? releaseStatus(cluster, ns, app)
    } finally {
      for (const stop of stops) stop()
    }
  }
}
