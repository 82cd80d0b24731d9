import { Flags } from '@oclif/core'
import { connectCluster } from '../adapters/kube-cluster.js'
import { buildSource } from '../cli/source.js'
import { loadConfig } from '../config.js'
import { type Config, parseDuration } from '../core/config.js'
import {
  DEFAULT_WAVES,
  parseContexts,
  parseOnFailure,
  parseParallel,
  parseWaves,
  planWaves,
} from '../core/fleet-plan.js'
import { envFlags, releaseSettings } from '../core/release-flags.js'
import { planSteps } from '../core/release-plan.js'
import { EdgecanaryError, UsageError } from '../errors.js'
import { withProgress } from '../progress.js'
import { parseImageRef } from '../registry/reference.js'
import { edgecanaryHome } from '../sandbox/paths.js'
import { type FleetStatus, fleetAbort, fleetStatus } from './control.js'
import type { FleetTarget } from './preflight.js'
import { withFleetLanes } from './progress.js'
import { fleetTable, outcomeText, textTable } from './report.js'
import { type FleetResult, runFleet } from './run.js'

/** `--contexts` for status and abort. */
export const contextsFlag = {
  contexts: Flags.string({
    description: 'a fleet: kubeconfig contexts, comma-separated (default: fleet: in edgecanary.yaml)',
  }),
}

/** The fleet flags of `release`. */
export const fleetReleaseFlags = {
  contexts: Flags.string({
    description:
      'release to a fleet: kubeconfig contexts, comma-separated, in wave order (or fleet: in edgecanary.yaml)',
  }),
  waves: Flags.string({
    description: `fleet waves as cumulative cluster counts or shares, e.g. 1,25%,100% (default ${DEFAULT_WAVES}: one cluster, then the rest)`,
  }),
  parallel: Flags.integer({ description: 'fleet: clusters released at once inside a wave (default 4)' }),
  'on-failure': Flags.string({
    description:
      'fleet: when a cluster rolls back, abort the others of its wave (abort-wave, default) or let them finish (finish-wave); no further wave starts either way',
  }),
  'skip-unreachable': Flags.boolean({
    description:
      'fleet: release the reachable clusters and list the unreachable ones as skipped (default: exit 2)',
  }),
}

export interface FleetCommandFlags {
  kubeconfig?: string
  context?: string
  namespace?: string
  config: string
  contexts?: string
}

/** The clusters named by --contexts, else by fleet: in edgecanary.yaml; undefined when neither names a fleet. */
export function fleetTargets(
  flags: FleetCommandFlags,
  config: Config,
  configFound: boolean,
): FleetTarget[] | undefined {
  const fromConfig = configFound ? config.fleet : undefined
  if (flags.contexts === undefined && (!fromConfig || flags.context)) return undefined
  let contexts: string[]
  if (flags.contexts !== undefined) {
    const p = parseContexts(flags.contexts)
    if (!p.ok) throw new UsageError(p.problem, { hint: 'e.g. --contexts pi-shop-1,pi-shop-2,pi-shop-3' })
    contexts = p.value
  } else contexts = (fromConfig ?? []).map((c) => c.context)
  return contexts.map((context) => {
    const entry = fromConfig?.find((c) => c.context === context)
    return {
      context,
      namespace: entry?.namespace ?? flags.namespace ?? config.namespace,
      ...(entry?.registry ? { registry: entry.registry } : {}),
    }
  })
}

/** Whether `release` runs as a fleet: --contexts given, or fleet: in edgecanary.yaml and no --context. */
export function isFleet(flags: FleetCommandFlags): boolean {
  if (flags.contexts !== undefined) return true
  if (flags.context) return false
  const { config, found } = loadConfig(flags.config)
  return found && config.fleet !== undefined
}

const connectTo = (kubeconfig: string | undefined) => (context: string) =>
  connectCluster({ kubeconfig, context })

export interface FleetReleaseFlags extends FleetCommandFlags {
  waves?: string
  parallel?: number
  'on-failure'?: string
  'skip-unreachable'?: boolean
  image?: string
  source?: string
  steps?: string
  pause?: boolean
  env?: string[]
  interval?: string
  iterations?: number
  load?: number
  notify?: string[]
  'dry-run'?: boolean
}

/**
 * `release VERSION --contexts …`: validates the flags, then runs the fleet with one progress
 * lane per cluster. A stopped fleet prints the per-cluster table and exits 1.
 */
export async function releaseFleet(
  version: string,
  flags: FleetReleaseFlags,
  ui: { json: boolean; info(line: string): void },
): Promise<FleetResult | object> {
  const { config: cfg, found } = loadConfig(flags.config)
  const targets = fleetTargets(flags, cfg, found) ?? []
  const marks = parseWaves(flags.waves ?? DEFAULT_WAVES)
  if (!marks.ok) throw new UsageError(marks.problem, { hint: 'e.g. --waves 1,25%,100%' })
  const waves = planWaves(
    targets.map((t) => t.context),
    marks.value,
  )
  if (!waves.ok) throw new UsageError(waves.problem, { hint: 'e.g. --waves 1,25%,100%' })
  const parallel = parseParallel(flags.parallel)
  if (!parallel.ok) throw new UsageError(parallel.problem, { hint: 'e.g. --parallel 4' })
  const onFailure = parseOnFailure(flags['on-failure'])
  if (!onFailure.ok) throw new UsageError(onFailure.problem, { hint: '--on-failure abort-wave' })
  const parsedEnv = envFlags(flags.env)
  if (!parsedEnv.ok) throw new UsageError(parsedEnv.problem, { hint: parsedEnv.hint })
  const env = parsedEnv.env
  if (flags.image !== undefined) parseImageRef(flags.image)
  // the flags are checked by the schema that checks edgecanary.yaml, as for one cluster
  const settings = releaseSettings(cfg, flags)
  if (!settings.ok) throw new UsageError(settings.problem, { hint: settings.hint })
  const { analysis } = settings
  const steps = planSteps(cfg.replicas, settings.steps)
  if (flags['dry-run']) {
    ui.info(`fleet plan for ${cfg.app} ${version} (${targets.length} clusters), nothing is changed:`)
    waves.value.forEach((w, i) => {
      ui.info(`  wave ${i + 1}: ${w.join(', ')}`)
    })
    ui.info(`  each cluster: ${steps.map((s) => `${s.stable}:${s.canary}`).join(' → ')} → promote`)
    return {
      app: cfg.app,
      version,
      waves: waves.value,
      parallel: parallel.value,
      onFailure: onFailure.value,
      clusters: targets,
      steps,
    }
  }
  // the default sample-app: ./sample-app, else the one shipped inside edgecanary (said in one line)
  const source = buildSource(flags.source, cfg.source)
  if (source.note && !flags.image) ui.info(source.note)
  const ac = new AbortController()
  const onSignal = () => ac.abort()
  // `on`, not `once`, as release does: a lone signal-exit listener would re-raise SIGINT
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    return await withFleetLanes(
      `fleet release ${cfg.app} ${version}`,
      targets.map((t) => t.context),
      { json: ui.json },
      async (lanes) => {
        const r = await runFleet(
          { connect: connectTo(flags.kubeconfig), lanes, signal: ac.signal },
          {
            app: cfg.app,
            version,
            targets,
            waves: marks.value,
            parallel: parallel.value,
            onFailure: onFailure.value,
            skipUnreachable: Boolean(flags['skip-unreachable']),
            home: edgecanaryHome(),
            source: source.dir,
            image: flags.image,
            platforms: cfg.platforms,
            insecure: cfg.insecure,
            registry: cfg.registry,
            plan: {
              steps,
              replicas: cfg.replicas,
              env,
              analysis,
              readinessDeadlineMs: parseDuration(cfg.readinessDeadline),
              progressDeadlineMs: parseDuration(cfg.progressDeadline),
              leaseSeconds: parseDuration(cfg.leaseDuration) / 1000,
              pause: Boolean(flags.pause),
              notify: settings.notify,
            },
          },
        )
        ui.info(
          `${cfg.app} ${version} promoted on ${r.clusters.filter((c) => c.outcome === 'done').length} clusters in ${(r.durationMs / 1000).toFixed(1)}s`,
        )
        ui.info(fleetTable(r.clusters))
        return r
      },
    )
  } catch (err) {
    const fleet = err instanceof EdgecanaryError ? (err.details?.fleet as FleetResult | undefined) : undefined
    if (fleet) ui.info(fleetTable(fleet.clusters))
    throw err
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

function targetsOrThrow(flags: FleetCommandFlags): { targets: FleetTarget[]; config: Config } {
  const { config, found } = loadConfig(flags.config)
  const targets = fleetTargets(flags, config, found)
  if (!targets)
    throw new UsageError('no fleet named', { hint: 'pass --contexts a,b,c or set fleet: in edgecanary.yaml' })
  return { targets, config }
}

/** `status --contexts …`: the fleet table (cluster, fleet, phase, step, version). */
export async function statusFleet(
  flags: FleetCommandFlags & { app?: string },
  ui: { json: boolean; info(line: string): void },
): Promise<FleetStatus> {
  const { targets, config } = targetsOrThrow(flags)
  const app = flags.app ?? config.app
  const r = await fleetStatus(targets, { connect: connectTo(flags.kubeconfig), app, home: edgecanaryHome() })
  if (!ui.json)
    process.stdout.write(
      `${r.fleet ? `fleet release ${app} ${r.fleet.version}: ${r.fleet.phase}` : `no fleet release of ${app} recorded`}\n${textTable(
        ['CLUSTER', 'FLEET', 'PHASE', 'STEP', 'VERSION', 'REASON'],
        r.clusters.map((c) => [
          c.cluster,
          c.fleet === 'unreachable' ? 'unreachable' : outcomeText(c.fleet),
          c.phase,
          c.step ?? '',
          c.version ?? '',
          c.reason ?? '',
        ]),
      )}\n`,
    )
  return r
}

/** `abort --contexts …`: stops the fleet; releases under way roll back. */
export async function abortFleet(
  flags: FleetCommandFlags & { app?: string },
  ui: { json: boolean; info(line: string): void },
): Promise<object> {
  const { targets, config } = targetsOrThrow(flags)
  const app = flags.app ?? config.app
  return withProgress('abort the fleet', { json: ui.json }, async (progress) => {
    const r = await fleetAbort(targets, {
      connect: connectTo(flags.kubeconfig),
      app,
      home: edgecanaryHome(),
      config,
      progress,
    })
    ui.info(
      textTable(
        ['CLUSTER', 'ABORT'],
        r.clusters.map((c) => [c.cluster, c.action]),
      ),
    )
    return r
  })
}
