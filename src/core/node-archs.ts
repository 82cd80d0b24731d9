/** Architectures a sandbox node can have (Kubernetes' `kubernetes.io/arch` names). */
export const SANDBOX_ARCHES = ['arm64', 'arm', 'amd64'] as const

export interface NodeArch {
  name: string
  arch: string
}

/**
 * The architecture of each sandbox node `pi-1` … `pi-N`: `--arch` (a comma-separated list)
 * assigned round-robin, then `--nodes-arch NAME=ARCH,...` overriding single nodes by name.
 * Returns a one-line problem for an unknown architecture, a node that is not there, a node
 * named twice or an entry that is not NAME=ARCH.
 *
 *   assignNodeArchs(4, 'arm64,arm')
 *   → { nodes: [pi-1 arm64, pi-2 arm, pi-3 arm64, pi-4 arm] }
 *   assignNodeArchs(2, 'arm64', 'pi-2=amd64')
 *   → { nodes: [pi-1 arm64, pi-2 amd64] }
 *   assignNodeArchs(2, 'arm64', 'pi-9=arm')
 *   → { problem: '--nodes-arch names node "pi-9", but the nodes are pi-1, pi-2' }
 */
export function assignNodeArchs(
  count: number,
  archList: string,
  nodesArch?: string,
): { nodes: NodeArch[] } | { problem: string } {
  const archs = archList
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean)
  if (archs.length === 0) return { problem: '--arch is empty' }
  for (const a of archs) {
    if (!isSandboxArch(a)) return { problem: `--arch "${a}" is not one of ${SANDBOX_ARCHES.join(', ')}` }
  }
  const nodes = Array.from({ length: count }, (_, i) => ({
    name: `pi-${i + 1}`,
    arch: archs[i % archs.length],
  }))
  const seen = new Set<string>()
  for (const entry of (nodesArch ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const m = /^([^=\s]+)=([^=\s]+)$/.exec(entry)
    if (!m) return { problem: `--nodes-arch entry "${entry}" is not NAME=ARCH` }
    const [, name, arch] = m
    if (!isSandboxArch(arch))
      return { problem: `--nodes-arch ${name}=${arch}: "${arch}" is not one of ${SANDBOX_ARCHES.join(', ')}` }
    const node = nodes.find((n) => n.name === name)
    if (!node) {
      const names = nodes.map((n) => n.name).join(', ') || 'none (--nodes 0)'
      return { problem: `--nodes-arch names node "${name}", but the nodes are ${names}` }
    }
    if (seen.has(name)) return { problem: `--nodes-arch names node "${name}" twice` }
    seen.add(name)
    node.arch = arch
  }
  return { nodes }
}

function isSandboxArch(a: string): boolean {
  return (SANDBOX_ARCHES as readonly string[]).includes(a)
}

/**
 * The qemu-user emulator that runs binaries of `arch` on a host of `host`, or undefined when
 * none is needed (same architecture) or none is known.
 *
 *   emulatorFor('arm64', 'amd64') → 'qemu-aarch64-static'
 *   emulatorFor('arm', 'amd64')   → 'qemu-arm-static'
 *   emulatorFor('amd64', 'amd64') → undefined
 */
export function emulatorFor(arch: string, host: string): string | undefined {
  if (arch === host) return undefined
  return (
    {
      arm64: 'qemu-aarch64-static',
      arm: 'qemu-arm-static',
      amd64: 'qemu-x86_64-static',
      riscv64: 'qemu-riscv64-static',
    } as Record<string, string>
  )[arch]
}
