/** One node as the DaemonSet controller sees it: its daemon pods, by template hash and health. */
export interface DaemonNode {
  name: string
  /** Whether the node should run a daemon pod (nodeSelector matches). */
  wanted: boolean
  pods: { name: string; hash: string; available: boolean; terminating: boolean }[]
}

export interface DaemonPlan {
  /** Nodes that get a new pod of the current template. */
  create: string[]
  /** Pods to delete: on nodes that should not run one, extras, and old pods being rolled. */
  remove: string[]
}

/**
 * One sync of pkg/controller/daemon: a pod on every wanted node, none elsewhere, and for
 * RollingUpdate old-template pods replaced while at most `maxUnavailable` daemon pods are
 * unavailable (unavailable old pods go first, as `rollingUpdate` deletes them).
 *
 *   daemonPlan([{ name: 'pi-1', wanted: true, pods: [] }], 'h2', 'RollingUpdate', 1)
 *     → { create: ['pi-1'], remove: [] }
 *   daemonPlan([{ name: 'pi-1', wanted: true, pods: [{ name: 'a', hash: 'h1', available: true, terminating: false }] }], 'h2', 'RollingUpdate', 1)
 *     → { create: [], remove: ['a'] }
 */
export function daemonPlan(
  nodes: DaemonNode[],
  hash: string,
  strategy: string,
  maxUnavailable: number,
): DaemonPlan {
  const create: string[] = []
  const remove: string[] = []
  const rollable: { pod: string; available: boolean }[] = []
  let unavailable = 0
  for (const n of nodes) {
    const live = n.pods.filter((p) => !p.terminating)
    if (!n.wanted) {
      remove.push(...live.map((p) => p.name))
      continue
    }
    if (live.length === 0) {
      // a pod still terminating on the node holds its place until it is gone
      if (n.pods.length === 0) create.push(n.name)
      unavailable++
      continue
    }
    const [keep, ...extra] = [...live].sort((a, b) => Number(b.hash === hash) - Number(a.hash === hash))
    remove.push(...extra.map((p) => p.name))
    if (!keep.available) unavailable++
    if (keep.hash !== hash) rollable.push({ pod: keep.name, available: keep.available })
  }
  if (strategy === 'RollingUpdate') {
    for (const r of rollable.filter((x) => !x.available)) remove.push(r.pod)
    let budget = Math.max(0, maxUnavailable - unavailable)
    for (const r of rollable.filter((x) => x.available)) {
      if (budget <= 0) break
      remove.push(r.pod)
      budget--
    }
  }
  return { create, remove }
}
