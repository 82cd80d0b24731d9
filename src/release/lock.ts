import { hostname } from 'node:os'
import { systemClock } from '../adapters/system-clock.js'
import { type Epoch, fenceDecision, formatEpoch, parseEpoch } from '../core/epoch.js'
import { type JsonPatchOp, mergeToJsonPatch, pointerSegment } from '../core/json-patch.js'
import { isAlive } from '../daemon.js'
import { LockHeld } from '../errors.js'
import type { Clock, Cluster, Deployment, Lease } from '../ports.js'

/** The holder's epoch on each Deployment it drives: the fencing token of its writes. */
export const EPOCH_ANNOTATION = 'edgecanary.dev/epoch'
const EPOCH_POINTER = `/metadata/annotations/${pointerSegment(EPOCH_ANNOTATION)}`

export interface HeldLock {
  identity: string
  /** leaseTransitions at acquisition and the holder: what every write of this holder carries. */
  epoch: Epoch
  /** Throws LockHeld when another process took the lease over (an early stop; the fence decides). */
  check(): Promise<void>
  /**
   * Marks a Deployment as driven by this epoch, right after taking the Lease: refused (LockHeld)
   * when a newer epoch already claimed it. Resolves undefined when the Deployment does not exist.
   */
  claim(name: string): Promise<Deployment | undefined>
  /**
   * A fenced JSON merge patch of a Deployment: written only while the Deployment carries this
   * epoch, and conditional on the resourceVersion that was read with it, so the check and the
   * write are one step for the API server. A newer epoch → LockHeld, and nothing is written.
   */
  patch(name: string, patch: object): Promise<Deployment>
  /**
   * A Deployment as just read: the next fenced write to it is sent against this version at
   * once (one request instead of read-then-write); if it changed since, the write meets a
   * conflict and goes the long way.
   */
  saw(d: Deployment | undefined): void
  release(): Promise<void>
}

/** The epoch a Deployment was last claimed by (its annotation). */
export function epochOn(d: Deployment | undefined): Epoch | undefined {
  return parseEpoch(d?.metadata.annotations?.[EPOCH_ANNOTATION])
}

export function leaseName(app: string): string {
  return `edgecanary-${app}`
}

export function myIdentity(): string {
  return `edgecanary@${hostname()}:${process.pid}`
}

/**
 * Whether a lease's holder is gone: the lease expired (renewTime + duration in the past), or
 * the holder is a process on this host that no longer exists.
 *
 *   holderGone({ holderIdentity: 'edgecanary@h:1', renewTime: old, leaseDurationSeconds: 15 }, now, 'h', () => true) → true
 */
export function holderGone(
  spec: Lease['spec'],
  now: number,
  host: string,
  pidAlive: (pid: number) => boolean,
): boolean {
  if (!spec.holderIdentity) return true
  const renew = Date.parse(spec.renewTime ?? spec.acquireTime ?? '')
  if (!Number.isFinite(renew) || renew + (spec.leaseDurationSeconds ?? 15) * 1000 < now) return true
  const m = /^edgecanary@(.+):(\d+)$/.exec(spec.holderIdentity)
  return Boolean(m && m[1] === host && !pidAlive(Number(m[2])))
}

/** Whether a PID on this host lives (the holder of a Lease taken from this machine). */
export const pidAlive = isAlive

const micro = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z')

/**
 * Takes the app's Lease (coordination.k8s.io): create, or take over a gone holder with an
 * optimistic update (transitions + 1). A live holder → LockHeld (exit 3) naming it. Renews
 * every third of the duration while held.
 */
export async function acquireLock(
  cluster: Cluster,
  ns: string,
  app: string,
  durationSeconds: number,
  opts: {
    /** Who holds it (default: this process, `edgecanary@host:pid`). */
    identity?: string
    /** The least leaseTransitions to take: above any epoch already on the app's objects, so epochs grow even when the Lease was deleted. */
    floor?: number
    /**
     * The Lease as a watch last saw it: renewals and checks read it instead of asking the API
     * server (undefined: not known yet, so they ask).
     */
    watched?: () => Lease | undefined
    /** Renewals and lease times (default: the system clock). */
    clock?: Clock
  } = {},
): Promise<HeldLock> {
  const name = leaseName(app)
  const identity = opts.identity ?? myIdentity()
  const floor = opts.floor ?? 0
  const clock = opts.clock ?? systemClock
  const fresh = (transitions: number): Lease => ({
    metadata: { name, namespace: ns, labels: { app } },
    spec: {
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: micro(clock.now()),
      renewTime: micro(clock.now()),
      leaseTransitions: transitions,
    },
  })
  // the Lease exists after an app's first release: read it first (create only when absent)
  const existing = await cluster.getLease(ns, name)
  let lease = existing ? undefined : await cluster.createLease(ns, fresh(floor))
  if (!lease) {
    // it was there, or another process created it just now
    const cur = existing ?? (await cluster.getLease(ns, name))
    if (
      cur &&
      !holderGone(cur.spec, clock.now(), hostname(), pidAlive) &&
      cur.spec.holderIdentity !== identity
    ) {
      throw new LockHeld(`another release of ${app} holds the lock: ${cur.spec.holderIdentity}`, {
        hint: `wait for it, or follow it with \`edgecanary status -n ${ns}\`; \`edgecanary abort\` stops it`,
      })
    }
    const next = fresh(Math.max(floor, (cur?.spec.leaseTransitions ?? 0) + 1))
    next.metadata.resourceVersion = cur?.metadata.resourceVersion
    lease = cur ? await cluster.replaceLease(ns, next) : await cluster.createLease(ns, next)
    if (!lease)
      throw new LockHeld(`another process took the lock of ${app} at the same moment`, {
        hint: 'run `edgecanary status`',
      })
  }
  let current: Lease = lease
  let lost = false
  // the renewal under way, if any: release() waits for it, so the two never race on the Lease
  let renewing: Promise<void> = Promise.resolve()
  let released: Promise<void> | undefined
  const stopRenewing = clock.setInterval(
    () => {
      renewing = renewOnce()
    },
    (durationSeconds * 1000) / 3,
  )
  /** The Lease as read is still the one this holder took: same holder, no transition since. */
  const stillOurs = (cur: Lease | undefined): cur is Lease =>
    cur !== undefined &&
    cur.spec.holderIdentity === identity &&
    cur.spec.leaseTransitions === current.spec.leaseTransitions
  const renewOnce = async (): Promise<void> => {
    try {
      // with a watch, a renewal is one write against the version this holder wrote last; the
      // watch says whether someone else took the Lease. A conflict reads it again, as before.
      // a watched copy that is not ours may only lag behind our own write: the read below decides
      const seen = opts.watched?.()
      if (seen && stillOurs(seen)) {
        const r = await cluster.replaceLease(ns, {
          ...current,
          spec: { ...current.spec, renewTime: micro(clock.now()) },
        })
        if (r) {
          current = r
          return
        }
      }
      const cur = await cluster.getLease(ns, name)
      if (!stillOurs(cur)) {
        lost = true
        return
      }
      const r = await cluster.replaceLease(ns, {
        ...cur,
        spec: { ...cur.spec, renewTime: micro(clock.now()) },
      })
      if (r) current = r
    } catch {
      // a passing API error: the next renewal tries again, within the lease duration
    }
  }
  const epoch: Epoch = { n: current.spec.leaseTransitions ?? 0, holder: identity }
  const refused = (on: Epoch | undefined, what: string) => {
    lost = true
    return new LockHeld(
      `the lock of ${app} was taken over by ${on?.holder ?? 'another process'} (epoch ${on?.n ?? '?'}, ours ${epoch.n}); ${what} refused, stopping without further changes`,
      { hint: 'run `edgecanary status` to see who continues the release' },
    )
  }
  // The last version of each Deployment this holder read or wrote. A fence decision taken on it
  // holds for the server's object exactly when the conditional write succeeds: the same
  // resourceVersion is the same object, epoch annotation included.
  const known = new Map<string, Deployment>()
  const fenced = async (
    target: string,
    patch: object,
    mode: 'claim' | 'write',
  ): Promise<Deployment | undefined> => {
    const p = patch as { metadata?: { annotations?: Record<string, string | null> } }
    if (mode === 'write') {
      // one request, whatever the Deployment controller wrote meanwhile: the API server applies
      // the change only while the object carries exactly our epoch (a JSON patch `test`), which
      // is the write decision of fenceDecision. When it does not apply (another epoch, no epoch,
      // a path that is missing) or fails, the read-decide-write below says why or writes.
      const ops: JsonPatchOp[] = [
        { op: 'test', path: EPOCH_POINTER, value: formatEpoch(epoch) },
        ...mergeToJsonPatch(patch as Record<string, unknown>),
      ]
      const r = await cluster.patchDeploymentJson(ns, target, ops).catch(() => undefined)
      if (r) {
        known.set(target, r)
        return r
      }
      known.delete(target)
    }
    // a conflict is usually the Deployment controller updating status: read again and retry
    for (let attempt = 0; attempt < 50; attempt++) {
      const cached = attempt === 0 ? known.get(target) : undefined
      known.delete(target)
      const d = cached ?? (await cluster.getDeployment(ns, target))
      if (!d) return undefined
      const on = epochOn(d)
      if (fenceDecision(on, epoch, mode) === 'refuse') throw refused(on, `write to Deployment ${target}`)
      const body = {
        ...p,
        metadata: {
          ...p.metadata,
          annotations: { ...p.metadata?.annotations, [EPOCH_ANNOTATION]: formatEpoch(epoch) },
        },
      }
      // a write against a remembered version that fails for any reason goes the long way
      const r = await cluster
        .patchDeploymentIf(ns, target, d.metadata.resourceVersion ?? '', body)
        .catch((err: unknown) => {
          if (cached) return undefined
          throw err
        })
      if (r) {
        known.set(target, r)
        return r
      }
    }
    throw new LockHeld(`Deployment ${target} kept changing under a write (50 conflicts)`, {
      hint: 'run `edgecanary status`; resume with `edgecanary release VERSION`',
    })
  }
  return {
    identity,
    epoch,
    claim: (target) => fenced(target, {}, 'claim'),
    saw(d) {
      if (d?.metadata.name && d.metadata.resourceVersion) known.set(d.metadata.name, d)
    },
    async patch(target, patch) {
      const r = await fenced(target, patch, 'write')
      if (!r) throw new Error(`Deployment ${ns}/${target} not found`)
      return r
    },
    async check() {
      const seen = opts.watched?.()
      if (!lost && seen && stillOurs(seen)) return
      const cur = await cluster.getLease(ns, name)
      if (lost || !stillOurs(cur)) {
        lost = true
        throw new LockHeld(
          `the lock of ${app} was taken over by ${cur?.spec.holderIdentity ?? 'another process'}; stopping without further changes`,
          {
            hint: 'run `edgecanary status` to see who continues the release',
          },
        )
      }
    },
    release() {
      // once: the engine lets go as soon as a release is over, and again on its way out
      released ??= (async () => {
        stopRenewing()
        await renewing
        // first against the version this holder last wrote (one request when nobody wrote since);
        // a 409 means the Lease moved under us (a passing writer, a takeover): read it again
        for (let attempt = 0; attempt < 5; attempt++) {
          const cur = attempt === 0 && !lost ? current : await cluster.getLease(ns, name)
          if (cur?.spec.holderIdentity !== identity) return
          const done = await cluster.replaceLease(ns, {
            ...cur,
            spec: { ...cur.spec, holderIdentity: '', leaseDurationSeconds: 1 },
          })
          if (done) return
        }
      })()
      return released
    },
  }
}
