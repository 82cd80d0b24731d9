import { choosePlatforms, uncoveredMessage } from '../core/platforms.js'
import { PlatformMismatch } from '../errors.js'
import type { Cluster } from '../ports.js'

export interface PlatformChoice {
  platforms: string[]
  /** `asked`: --platform or `platforms:`; `nodes`: the schedulable nodes' architectures. */
  from: 'asked' | 'nodes' | 'default'
  /** One line for the user saying where the platforms came from. */
  note: string
}

/**
 * The platforms to build for a cluster: `asked` (--platform or `platforms:` in
 * edgecanary.yaml) wins, else those of its schedulable nodes. A platform list that leaves out a
 * schedulable node's architecture is a PlatformMismatch (exit 2) naming the nodes — thrown
 * before anything is built or applied.
 */
export async function platformsForCluster(
  cluster: Cluster,
  asked: string[] | undefined,
  askedBy: string,
): Promise<PlatformChoice> {
  const choice = choosePlatforms(asked, await cluster.nodeFacts())
  if (choice.uncovered.length > 0) {
    const need = [...new Set([...choice.platforms, ...choice.uncovered.map((u) => u.platform)])]
    throw new PlatformMismatch(
      `${uncoveredMessage(choice.platforms, choice.uncovered)}: their pods could not run`,
      {
        hint: `build for every node: set ${askedBy} to ${need.join(',')}, or remove it to build for exactly the nodes' architectures`,
        details: { uncovered: choice.uncovered },
      },
    )
  }
  const note =
    choice.from === 'asked'
      ? `platforms ${choice.platforms.join(', ')} (from ${askedBy})`
      : choice.from === 'nodes'
        ? `platforms ${choice.platforms.join(', ')} (the schedulable nodes' architectures)`
        : 'platforms linux/arm64 (no schedulable node with a known architecture yet)'
  return { ...choice, note }
}
