/**
 * Which image platforms a cluster's nodes need, and which nodes a platform list leaves out.
 *
 * Kubernetes names a node's architecture in `status.nodeInfo.architecture` (the kubelet's
 * GOARCH) and in the `kubernetes.io/arch` label; neither carries the ARM variant, so a 32-bit
 * `arm` node is taken as armv7 (Raspberry Pi 2/3/Zero 2 with Raspberry Pi OS 32-bit) unless
 * the node carries the label `edgecanary.dev/arm-variant` (e.g. `v6` for a Pi Zero or Pi 1).
 */
export const ARM_VARIANT_LABEL = 'edgecanary.dev/arm-variant'

/** What the decision needs to know of one Node object. */
export interface NodeFacts {
  name: string
  /** `status.nodeInfo.architecture` */
  architecture?: string
  /** `metadata.labels["kubernetes.io/arch"]` */
  archLabel?: string
  /** `metadata.labels["edgecanary.dev/arm-variant"]` */
  armVariant?: string
  /** `spec.unschedulable` (cordoned) */
  unschedulable?: boolean
  /** `spec.taints[].effect` */
  taintEffects?: string[]
}

export interface Uncovered {
  /** The platform those nodes need, e.g. `linux/arm/v7`. */
  platform: string
  nodes: string[]
}

/**
 * The image platform a node runs, or undefined when its architecture is unknown.
 *
 *   nodePlatform({ name: 'pi-1', architecture: 'arm64' })                    → 'linux/arm64'
 *   nodePlatform({ name: 'pi-2', archLabel: 'arm' })                         → 'linux/arm/v7'
 *   nodePlatform({ name: 'pi-0', architecture: 'arm', armVariant: 'v6' })    → 'linux/arm/v6'
 */
export function nodePlatform(n: NodeFacts): string | undefined {
  const arch = n.architecture || n.archLabel
  if (!arch || !/^[a-z0-9]+$/.test(arch)) return undefined
  if (arch === 'arm') return `linux/arm/${/^v[5-8]$/.test(n.armVariant ?? '') ? n.armVariant : 'v7'}`
  return `linux/${arch}`
}

/**
 * A node gets new pods: not cordoned and no NoSchedule/NoExecute taint (the app's pods
 * tolerate none).
 *
 *   schedulable({ name: 'pi-1', unschedulable: true }) → false
 */
export function schedulable(n: NodeFacts): boolean {
  return !n.unschedulable && !(n.taintEffects ?? []).some((e) => e === 'NoSchedule' || e === 'NoExecute')
}

/**
 * Whether an image built for `built` runs on a node of platform `node`: same OS and
 * architecture; for 32-bit ARM a lower variant runs on a higher one (v6 on v7), as containerd
 * matches them.
 *
 *   covers('linux/arm/v6', 'linux/arm/v7') → true
 *   covers('linux/arm/v7', 'linux/arm/v6') → false
 *   covers('linux/arm64', 'linux/arm/v7')  → false
 */
export function covers(built: string, node: string): boolean {
  const [bo, ba, bv] = built.split('/')
  const [no, na, nv] = node.split('/')
  if (bo !== no || ba !== na) return false
  if (ba !== 'arm') return true
  const level = (v: string | undefined) => Number((v ?? 'v7').slice(1))
  return level(bv) <= level(nv)
}

/**
 * The platforms to build: the ones asked (`--platform` or `platforms:`) win; without them,
 * exactly those of the schedulable nodes (sorted, so the same cluster gives the same index);
 * with no schedulable node of a known architecture, `linux/arm64`. `uncovered` lists the
 * schedulable nodes the chosen platforms do not run on, grouped by the platform they need.
 *
 *   choosePlatforms(undefined, [pi-1 arm64, pi-2 arm])
 *   → { platforms: ['linux/arm/v7', 'linux/arm64'], from: 'nodes', uncovered: [] }
 *   choosePlatforms(['linux/arm64'], [pi-1 arm64, pi-2 arm, pi-4 arm])
 *   → { platforms: ['linux/arm64'], from: 'asked',
 *       uncovered: [{ platform: 'linux/arm/v7', nodes: ['pi-2', 'pi-4'] }] }
 */
export function choosePlatforms(
  asked: string[] | undefined,
  nodes: NodeFacts[],
): { platforms: string[]; from: 'asked' | 'nodes' | 'default'; uncovered: Uncovered[] } {
  const need = new Map<string, string[]>()
  for (const n of nodes.filter(schedulable)) {
    const p = nodePlatform(n)
    if (p) need.set(p, [...(need.get(p) ?? []), n.name])
  }
  const list = (asked ?? []).flatMap((a) => a.split(',')).filter(Boolean)
  if (list.length > 0) {
    const uncovered = [...need]
      .filter(([p]) => !list.some((b) => covers(b, p)))
      .map(([platform, names]) => ({ platform, nodes: names }))
    return { platforms: list, from: 'asked', uncovered }
  }
  if (need.size === 0) return { platforms: ['linux/arm64'], from: 'default', uncovered: [] }
  return { platforms: [...need.keys()].sort(), from: 'nodes', uncovered: [] }
}

/**
 * One line naming the nodes a platform list leaves out.
 *
 *   uncoveredMessage(['linux/arm64'], [{ platform: 'linux/arm/v7', nodes: ['pi-2', 'pi-4'] }])
 *   → 'platforms linux/arm64 leave out nodes pi-2, pi-4 (linux/arm/v7)'
 */
export function uncoveredMessage(platforms: string[], uncovered: Uncovered[]): string {
  const parts = uncovered.map((u) => `${u.nodes.join(', ')} (${u.platform})`)
  return `platforms ${platforms.join(',')} leave out nodes ${parts.join('; ')}`
}
