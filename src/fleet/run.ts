import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { platformsForCluster } from '../build/cluster-platforms.js'
import { buildAndPush } from '../build/index.js'
import {
  type ClusterOutcome,
  clusterOutcome,
  type FleetPhase,
  fleetPhase,
  nextFleetStep,
  type OnFailure,
  planWaves,
  type WaveMark,
} from '../core/fleet-plan.js'
import { Interrupted, LockHeld, ReleaseFailed, UnreachableError, UsageError } from '../errors.js'
import type { Cluster } from '../ports.js'
import { type ReleasePlanInput, type ReleaseResult, runRelease } from '../release/engine.js'
import { preflight } from '../release/preflight.js'
import { REQUEST_ANNOTATION, readState } from '../release/state.js'
import { checkCluster, type FleetTarget, type ReadyCluster } from './preflight.js'
import type { FleetLanes } from './progress.js'
import {
  type ClusterEntry,
  clusterRecordOf,
  type FleetRecord,
  readClusterRecord,
  readLocalRecord,
  writeClusterRecord,
  writeLocalRecord,
} from './record.js'
import { runWavePool } from './wave-pool.js'

export interface FleetInput {
  app: string
  version: string
  targets: FleetTarget[]
  waves: WaveMark[]
  parallel: number
  onFailure: OnFailure
  skipUnreachable: boolean
  /** EDGECANARY_HOME: the local fleet record and the build cache. */
  home: string
  /** Build from this source, unless `image` is given (then that image, as is, everywhere). */
  source: string
  image?: string
  /** `platforms:` of edgecanary.yaml; unset: the union of the clusters' schedulable nodes' architectures. */
  platforms?: string[]
  insecure: boolean
  /** edgecanary.yaml's registry: the last resort for a cluster that advertises none. */
  registry?: string
  /** The release each cluster runs, but for its namespace and image. */
  plan: Omit<ReleasePlanInput, 'namespace' | 'image' | 'app' | 'version'>
}

export interface FleetDeps {
  connect(context: string): Cluster
  lanes: FleetLanes
  signal?: AbortSignal
}

export interface FleetClusterResult {
  cluster: string
  namespace: string
  /** 1-based, as shown. */
  wave: number
  outcome: ClusterOutcome
  phase?: string
  reason?: string
  image?: string
  durationMs?: number
  resumed?: boolean
}

export interface FleetResult {
  app: string
  version: string
  phase: FleetPhase
  digest?: string
  waves: string[][]
  resumed: boolean
  skipped: { cluster: string; reason: string }[]
  clusters: FleetClusterResult[]
  durationMs: number
}

/**
 * A fleet release: preflight every cluster, build once and push to each cluster's registry
 * (same digest everywhere), then the normal canary per cluster, wave after wave, at most
 * `parallel` at once inside a wave. A rollback stops the fleet (no further wave; the rest of
 * its wave aborted or finished per `onFailure`): ReleaseFailed (exit 1) with the per-cluster
 * table. Resumes a fleet whose process died: the clusters done stay done, the one under way
 * resumes from its stored step.
 */
export async function runFleet(deps: FleetDeps, o: FleetInput): Promise<FleetResult> {
  const t0 = Date.now()
  const { lanes } = deps
  const order = o.targets.map((t) => t.context)

  // ── preflight: every cluster, in parallel, before anything changes ──
  const pre = lanes.fleet.step(`preflight ${order.length} clusters`)
  const checks = await Promise.all(
    o.targets.map((t) =>
      checkCluster(t, {
        connect: deps.connect,
        app: o.app,
        version: o.version,
        registry: o.registry,
        insecure: o.insecure,
      }),
    ),
  )
  const refused = checks.flatMap((c) => (c.kind === 'refused' ? [c] : []))
  const locked = checks.flatMap((c) => (c.kind === 'locked' ? [c] : []))
  const unreachable = checks.flatMap((c) => (c.kind === 'unreachable' ? [c] : []))
  const ready = checks.flatMap((c) => (c.kind === 'ready' ? [c.ready] : []))
  if (refused.length > 0) {
    pre.fail(refused.map((r) => `${r.context}: ${r.reason}`).join('; '))
    throw new UsageError(
      `${refused.map((r) => `${r.context}: ${r.reason}`).join('; ')} (nothing was changed in any cluster)`,
      { hint: refused[0].hint, details: { refused } },
    )
  }
  // another release holds a cluster's lock: as for one cluster, exit 3, and nothing changed
  // anywhere (a fleet that started around it would hold back its wave, or finish out of order)
  if (locked.length > 0) {
    const named = locked.map((l) => `${l.context} (held by ${l.holder})`).join('; ')
    pre.fail(`locked: ${locked.map((l) => l.context).join(', ')}`)
    throw new LockHeld(
      `another release holds the lock of ${o.app} in ${named}; nothing was changed in any cluster`,
      {
        hint: `wait for it (\`edgecanary status --context ${locked[0].context}\`) or stop it (\`edgecanary abort --context ${locked[0].context}\`), then run this command again`,
        details: { locked, ...(unreachable.length ? { unreachable } : {}) },
      },
    )
  }
  if (unreachable.length > 0 && !o.skipUnreachable) {
    pre.fail(`unreachable: ${unreachable.map((u) => u.context).join(', ')}`)
    throw new UnreachableError(
      `unreachable: ${unreachable.map((u) => `${u.context} (${u.reason})`).join('; ')}; nothing was changed in any cluster`,
      {
        hint: 'bring them back, or pass --skip-unreachable to release the others (a later run catches them up)',
        details: { unreachable },
      },
    )
  }
  const skipped = unreachable.map((u) => ({ cluster: u.context, reason: u.reason }))
  pre.done(
    `${ready.length} ready${skipped.length ? `, skipped (unreachable): ${skipped.map((s) => s.cluster).join(', ')}` : ''}`,
  )
  if (ready.length === 0) throw new UnreachableError('no cluster of the fleet is reachable', {})

  // ── the plan: resume the fleet under way, or start one ──
  const local = readLocalRecord(o.home, o.app)
  const byId = (id: string) => ready.filter((r) => r.record?.id === id)
  const sameFleet =
    local &&
    local.version === o.version &&
    local.phase === 'Progressing' &&
    sameMembers(Object.keys(local.clusters), order) &&
    byId(local.id).every((r) => !r.record?.entry.abortRequested && r.record?.phase === 'Progressing')
  const marked = planWaves(order, o.waves)
  if (!marked.ok) throw new UsageError(marked.problem, { hint: 'e.g. --waves 1,25%,100%' })
  const resumed = Boolean(sameFleet && local)
  const waves = resumed && local ? local.waves : marked.value
  const now = () => new Date().toISOString()
  const record: FleetRecord = {
    id: resumed && local ? local.id : randomUUID(),
    app: o.app,
    version: o.version,
    waves,
    phase: 'Progressing',
    clusters: {},
    startedAt: resumed && local ? local.startedAt : now(),
    updatedAt: now(),
  }
  const readyBy = new Map(ready.map((r) => [r.target.context, r]))
  for (const [w, wave] of waves.entries())
    for (const c of wave) {
      const r = readyBy.get(c)
      const recorded = resumed ? local?.clusters[c]?.outcome : undefined
      const entry: ClusterEntry = {
        namespace: o.targets.find((t) => t.context === c)?.namespace ?? '',
        wave: w,
        outcome: r ? clusterOutcome(o.version, r.state, recorded) : 'skipped',
      }
      if (!r) entry.reason = skipped.find((s) => s.cluster === c)?.reason
      record.clusters[c] = entry
    }
  if (resumed)
    lanes.fleet.note(`resuming the fleet release of ${o.app} ${o.version} (started ${record.startedAt})`)

  // ── build once, push to every registry that needs it: the same digest everywhere ──
  const toRelease = ready.filter((r) => record.clusters[r.target.context].outcome !== 'done')
  const images = new Map<string, string>()
  if (toRelease.length > 0) {
    if (o.image) for (const r of toRelease) images.set(r.registry, o.image)
    else {
      // one image for every cluster: an index of every architecture any of them runs; a
      // platforms: list that leaves out a cluster's node is refused before anything is built
      const chosen = await Promise.all(
        toRelease.map((r) =>
          platformsForCluster(
            r.cluster,
            o.platforms,
            `platforms: in edgecanary.yaml (cluster ${r.target.context})`,
          ),
        ),
      )
      const platforms = [...new Set(chosen.flatMap((c) => c.platforms))]
      lanes.fleet.note(`platforms ${platforms.join(', ')}`)
      const registries = [...new Set(toRelease.map((r) => r.registry))]
      const build = (registry: string) =>
        buildAndPush({
          source: o.source,
          version: o.version,
          repo: `${registry}/${o.app}`,
          platforms,
          cacheDir: join(o.home, 'cache'),
          insecure: o.insecure,
          progress: lanes.fleet,
          signal: deps.signal,
        })
      // the first compiles; the others find the binary and layer in the cache
      const first = await build(registries[0])
      const rest = await Promise.all(registries.slice(1).map(build))
      for (const b of [first, ...rest])
        if (b.digest !== first.digest)
          throw new Error(`the image built for ${b.image} has digest ${b.digest}, not ${first.digest}`)
      registries.forEach((reg, i) => {
        images.set(reg, [first, ...rest][i].image)
      })
      record.digest = first.digest
    }
    // the release preflight per cluster (image in its registry, built for its nodes' arch)
    const pinned = await Promise.all(
      toRelease.map(async (r) => {
        try {
          const p = await preflight(r.cluster, {
            image: images.get(r.registry) ?? '',
            insecure: o.insecure,
            namespace: r.target.namespace,
            app: o.app,
          })
          return [r.target.context, p.image] as const
        } catch (err) {
          if (err instanceof UsageError)
            throw new UsageError(`${r.target.context}: ${err.message} (nothing was changed in any cluster)`, {
              hint: err.hint,
            })
          throw err
        }
      }),
    )
    for (const [c, image] of pinned) images.set(c, image)
    record.digest ??= (images.get(toRelease[0].target.context) ?? '').split('@')[1]
  }

  // ── the waves ──
  const save = async (contexts: string[]) => {
    record.updatedAt = now()
    writeLocalRecord(o.home, record)
    await Promise.all(
      contexts.map((c) => {
        const r = readyBy.get(c)
        return r
          ? writeClusterRecord(r.cluster, r.target.namespace, clusterRecordOf(record, c)).catch(() => {})
          : undefined
      }),
    )
  }
  await save(ready.map((r) => r.target.context))
  const results = new Map<string, ReleaseResult>()
  const reasons = new Map<string, string>()
  let interrupted: unknown
  /** A cluster whose lock another release took after the preflight: the fleet stops there (exit 3). */
  let lockedBy: { cluster: string; err: LockHeld } | undefined
  for (;;) {
    const next = nextFleetStep(waves, outcomes(record))
    if (next.kind !== 'run' || interrupted || lockedBy) break
    lanes.fleet.note(`wave ${next.wave + 1} of ${waves.length}: ${next.clusters.join(', ')}`)
    await runWave(next.clusters)
  }

  async function runWave(clusters: string[]): Promise<void> {
    await runWavePool({
      clusters,
      parallel: o.parallel,
      onFailure: o.onFailure,
      stop: () => interrupted !== undefined || lockedBy !== undefined,
      run: async (c) => {
        const r = readyBy.get(c)
        if (!r) return 'ok'
        // `edgecanary abort --contexts` asked this fleet to stop
        const there = await readClusterRecord(r.cluster, r.target.namespace, o.app).catch(() => undefined)
        if (there?.id === record.id && there.entry?.abortRequested) {
          record.clusters[c].outcome = 'aborted'
          record.clusters[c].reason = 'fleet aborted (edgecanary abort)'
          await save([c])
          return 'failed'
        }
        const before = record.clusters[c].outcome
        record.clusters[c].outcome = 'running'
        await save([c])
        const outcome = await releaseOne(r, before)
        return outcome === 'failed' || outcome === 'aborted' ? 'failed' : 'ok'
      },
      abort: async (other, failed) => {
        const x = readyBy.get(other)
        reasons.set(other, `aborted: ${failed} rolled back (--on-failure abort-wave)`)
        await x?.cluster
          .patchDeployment(x.target.namespace, o.app, {
            metadata: { annotations: { [REQUEST_ANNOTATION]: 'abort' } },
          })
          .catch(() => {})
      },
    })
  }

  async function releaseOne(r: ReadyCluster, before: ClusterOutcome): Promise<ClusterOutcome> {
    const c = r.target.context
    const lane = lanes.lane(c)
    const entry = record.clusters[c]
    try {
      const res = await runRelease(
        { cluster: r.cluster, progress: lane, signal: deps.signal },
        {
          ...o.plan,
          app: o.app,
          version: o.version,
          namespace: r.target.namespace,
          image: images.get(c) ?? images.get(r.registry) ?? '',
        },
      )
      results.set(c, res)
      entry.outcome = 'done'
      lanes.end(c, {
        ok: true,
        summary: res.noop
          ? `${o.version} already released`
          : `promoted in ${(res.durationMs / 1000).toFixed(1)}s`,
      })
    } catch (err) {
      const message = (err as Error).message.split('\n')[0]
      if (err instanceof Interrupted) {
        interrupted ??= err
        lanes.end(c, { ok: false, summary: 'interrupted' })
        return entry.outcome
      }
      if (err instanceof LockHeld) {
        // not this version's failure: another release holds the cluster. Its place in the fleet
        // is what the cluster says (untouched when the lock was refused at once), and the fleet
        // stays resumable: the same command continues once the lock is free
        lockedBy ??= { cluster: c, err }
        const there = await r.cluster.getDeployment(r.target.namespace, o.app).catch(() => undefined)
        entry.outcome = there ? clusterOutcome(o.version, readState(there), before) : before
        entry.reason = `locked: ${message}`
        lanes.end(c, { ok: false, summary: entry.reason })
        await save([c])
        return entry.outcome
      }
      const phase = err instanceof ReleaseFailed ? String(err.details?.phase ?? '') : ''
      entry.outcome = phase === 'Aborted' ? 'aborted' : 'failed'
      entry.reason = reasons.get(c) ?? message
      lanes.end(c, { ok: false, summary: entry.reason })
    }
    await save([c])
    return entry.outcome
  }

  record.phase = interrupted || lockedBy ? 'Progressing' : fleetPhase(waves, outcomes(record))
  await save(ready.map((r) => r.target.context))
  if (interrupted) throw interrupted
  const result: FleetResult = {
    app: o.app,
    version: o.version,
    phase: record.phase,
    digest: record.digest,
    waves,
    resumed,
    skipped,
    clusters: waves.flatMap((wave, w) =>
      wave.map((c) => {
        const e = record.clusters[c]
        const res = results.get(c)
        return {
          cluster: c,
          namespace: e.namespace,
          wave: w + 1,
          outcome: e.outcome,
          ...(res ? { phase: res.phase, durationMs: res.durationMs, resumed: res.resumed } : {}),
          ...(e.reason ? { reason: e.reason } : {}),
          ...(images.get(c) ? { image: images.get(c) } : {}),
        }
      }),
    ),
    durationMs: Date.now() - t0,
  }
  if (lockedBy)
    throw new LockHeld(
      `fleet release ${o.app} ${o.version} stopped: ${lockedBy.cluster}: ${lockedBy.err.message.split('\n')[0]}; no further cluster was started`,
      {
        hint: `the same command resumes the fleet once the lock of ${lockedBy.cluster} is free (\`edgecanary status --contexts …\` shows each cluster)`,
        details: { fleet: result },
      },
    )
  if (record.phase !== 'Succeeded') {
    const stop = nextFleetStep(waves, outcomes(record))
    const first = stop.kind === 'stopped' ? stop.failed[0] : undefined
    throw new ReleaseFailed(
      `fleet release ${o.app} ${o.version} stopped in wave ${stop.kind === 'stopped' ? stop.wave + 1 : '?'}: ${first ? `${first}: ${record.clusters[first].reason ?? 'rolled back'}` : record.phase}; no further wave was started`,
      {
        hint: 'the clusters not released keep their version; `edgecanary status --contexts …` shows each; after a fix, release again',
        details: { fleet: result },
      },
    )
  }
  return result
}

function outcomes(r: FleetRecord): Record<string, ClusterOutcome> {
  return Object.fromEntries(Object.entries(r.clusters).map(([c, e]) => [c, e.outcome]))
}

function sameMembers(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x))
}
