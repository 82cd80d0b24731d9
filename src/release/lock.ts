import { hostname } from 'node:os'
import { LockHeld } from '../errors.js'
import type { Cluster, Lease } from '../ports.js'

export interface HeldLock {
  identity: string
  /** Throws LockHeld when another process took the lease over (the epoch changed). */
  check(): Promise<void>
  release(): Promise<void>
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

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const micro = (ms = Date.now()) => new Date(ms).toISOString().replace('Z', '000Z')

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
): Promise<HeldLock> {
  const name = leaseName(app)
  const identity = myIdentity()
  const fresh = (transitions: number): Lease => ({
    metadata: { name, namespace: ns, labels: { app } },
    spec: {
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: micro(),
      renewTime: micro(),
      leaseTransitions: transitions,
    },
  })
  let lease = await cluster.createLease(ns, fresh(0))
  if (!lease) {
    const cur = await cluster.getLease(ns, name)
    if (
      cur &&
      !holderGone(cur.spec, Date.now(), hostname(), pidAlive) &&
      cur.spec.holderIdentity !== identity
    ) {
      throw new LockHeld(`another release of ${app} holds the lock: ${cur.spec.holderIdentity}`, {
        hint: `wait for it, or follow it with \`edgecanary status -n ${ns}\`; \`edgecanary abort\` stops it`,
      })
    }
    const next = fresh((cur?.spec.leaseTransitions ?? 0) + 1)
    next.metadata.resourceVersion = cur?.metadata.resourceVersion
    lease = cur ? await cluster.replaceLease(ns, next) : await cluster.createLease(ns, next)
    if (!lease)
      throw new LockHeld(`another process took the lock of ${app} at the same moment`, {
        hint: 'run `edgecanary status`',
      })
  }
  let current: Lease = lease
  let lost = false
  const renew = setInterval(
    async () => {
      try {
        const cur = await cluster.getLease(ns, name)
        if (
          !cur ||
          cur.spec.holderIdentity !== identity ||
          cur.spec.leaseTransitions !== current.spec.leaseTransitions
        ) {
          lost = true
          return
        }
        const r = await cluster.replaceLease(ns, { ...cur, spec: { ...cur.spec, renewTime: micro() } })
        if (r) current = r
      } catch {
        // a passing API error: the next renewal tries again, within the lease duration
      }
    },
    (durationSeconds * 1000) / 3,
  )
  renew.unref()
  return {
    identity,
    async check() {
      const cur = await cluster.getLease(ns, name)
      if (
        lost ||
        !cur ||
        cur.spec.holderIdentity !== identity ||
        cur.spec.leaseTransitions !== current.spec.leaseTransitions
      ) {
        lost = true
        throw new LockHeld(
          `the lock of ${app} was taken over by ${cur?.spec.holderIdentity ?? 'another process'}; stopping without further changes`,
          {
            hint: 'run `edgecanary status` to see who continues the release',
          },
        )
      }
    },
    async release() {
      clearInterval(renew)
      const cur = await cluster.getLease(ns, name)
      if (cur?.spec.holderIdentity === identity) {
        await cluster.replaceLease(ns, {
          ...cur,
          spec: { ...cur.spec, holderIdentity: '', leaseDurationSeconds: 1 },
        })
      }
    },
  }
}
