import type { KObject } from '../types.js'

interface Condition {
  type: string
  status: string
  lastTransitionTime?: string
}

export function conditions(o: KObject): Condition[] {
  const c = (o.status as { conditions?: Condition[] } | undefined)?.conditions
  return Array.isArray(c) ? c : []
}

export function isTerminating(p: KObject): boolean {
  return Boolean(p.metadata.deletionTimestamp)
}

export function isReady(p: KObject): boolean {
  return conditions(p).some((c) => c.type === 'Ready' && c.status === 'True')
}

/** Ready for at least minReadySeconds (`now` in ms). */
export function isAvailable(p: KObject, minReadySeconds: number, now: number): boolean {
  const ready = conditions(p).find((c) => c.type === 'Ready' && c.status === 'True')
  if (!ready) return false
  if (minReadySeconds <= 0) return true
  const since = Date.parse(ready.lastTransitionTime ?? '')
  return Number.isFinite(since) && now - since >= minReadySeconds * 1000
}

export function ownedBy(o: KObject, uid: string | undefined): boolean {
  return (
    Boolean(uid) && (o.metadata.ownerReferences ?? []).some((r) => r.uid === uid && r.controller !== false)
  )
}

function restarts(p: KObject): number {
  const cs =
    (p.status as { containerStatuses?: { restartCount?: number }[] } | undefined)?.containerStatuses ?? []
  return cs.reduce((n, c) => n + (c.restartCount ?? 0), 0)
}

function phaseRank(p: KObject): number {
  const phase = (p.status as { phase?: string } | undefined)?.phase
  return phase === 'Pending' ? 0 : phase === 'Unknown' ? 1 : 2
}

/**
 * Orders pods for deletion as `ActivePodsWithRanks.Less`: unassigned, Pending before Running,
 * not-ready, lower deletion cost, more same-RS pods on the node, ready more recently, more
 * restarts, newer. The first pods of the result go first.
 */
export function deletionOrder(pods: KObject[], podsPerNode: Map<string, number>): KObject[] {
  const cost = (p: KObject) =>
    Number(p.metadata.annotations?.['controller.kubernetes.io/pod-deletion-cost'] ?? 0)
  const readySince = (p: KObject) =>
    Date.parse(conditions(p).find((c) => c.type === 'Ready')?.lastTransitionTime ?? '') || 0
  const node = (p: KObject) => (p.spec as { nodeName?: string }).nodeName
  return [...pods].sort((a, b) => {
    const keys: [number, number][] = [
      [node(a) ? 1 : 0, node(b) ? 1 : 0],
      [phaseRank(a), phaseRank(b)],
      [isReady(a) ? 1 : 0, isReady(b) ? 1 : 0],
      [cost(a), cost(b)],
      [-(podsPerNode.get(node(a) ?? '') ?? 0), -(podsPerNode.get(node(b) ?? '') ?? 0)],
      [-readySince(a), -readySince(b)],
      [-restarts(a), -restarts(b)],
      [-Date.parse(a.metadata.creationTimestamp ?? ''), -Date.parse(b.metadata.creationTimestamp ?? '')],
    ]
    for (const [x, y] of keys) if (x !== y) return x - y
    return 0
  })
}
