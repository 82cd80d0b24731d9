import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { hostname, release } from 'node:os'

/** What the host tells about itself: every virtual node shares its kernel and boot. */
export interface HostFacts {
  bootID: string
  kernelVersion: string
  osImage: string
  /** /etc/machine-id (or the hostname when absent): the seed of the nodes' stable ids. */
  machineSeed: string
}

/** status.nodeInfo (NodeSystemInfo): every field the API marks required. */
export interface NodeSystemInfo {
  machineID: string
  systemUUID: string
  bootID: string
  kernelVersion: string
  osImage: string
  containerRuntimeVersion: string
  kubeletVersion: string
  kubeProxyVersion: string
  operatingSystem: string
  architecture: string
}

export const KUBELET_VERSION = 'v1.32.0+edgecanary'

/**
 * The NodeSystemInfo a kubelet reports, for a virtual node on this host: boot id, kernel and
 * OS image of the host (what a real kubelet reads there too), and a machine id and system
 * UUID generated from the host's machine id and the node name, so they differ per node and
 * stay the same across restarts.
 *
 *   nodeSystemInfo('pi-1', 'arm64', { bootID: 'b', kernelVersion: '6.1.0', osImage: 'Debian', machineSeed: 'm' })
 *     → { machineID: '<32 hex>', systemUUID: '<8-4-4-4-12 hex>', bootID: 'b', kernelVersion: '6.1.0',
 *         osImage: 'Debian', architecture: 'arm64', operatingSystem: 'linux', kubeletVersion: 'v1.32.0+edgecanary', … }
 */
export function nodeSystemInfo(nodeName: string, arch: string, host: HostFacts): NodeSystemInfo {
  const id = createHash('sha256').update(`${host.machineSeed}/${nodeName}`).digest('hex')
  const u = createHash('sha256').update(`system-uuid/${host.machineSeed}/${nodeName}`).digest('hex')
  // an RFC 4122 version-4 layout, as DMI product UUIDs of virtual machines look
  const systemUUID = `${u.slice(0, 8)}-${u.slice(8, 12)}-4${u.slice(13, 16)}-${((Number.parseInt(u[16], 16) & 3) | 8).toString(16)}${u.slice(17, 20)}-${u.slice(20, 32)}`
  return {
    machineID: id.slice(0, 32),
    systemUUID,
    bootID: host.bootID,
    kernelVersion: host.kernelVersion,
    osImage: host.osImage,
    containerRuntimeVersion: 'edgecanary-sandbox://0.1.0',
    kubeletVersion: KUBELET_VERSION,
    kubeProxyVersion: KUBELET_VERSION,
    operatingSystem: 'linux',
    architecture: arch,
  }
}

/**
 * The `PRETTY_NAME` of an os-release file, as the kubelet reports it in osImage.
 *
 *   prettyName('NAME="Debian"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n') → 'Debian GNU/Linux 12 (bookworm)'
 *   prettyName('') → 'Linux'
 */
export function prettyName(osRelease: string): string {
  const m = /^PRETTY_NAME=(?:"([^"]*)"|'([^']*)'|(.*))$/m.exec(osRelease)
  return (m?.[1] ?? m?.[2] ?? m?.[3] ?? '').trim() || 'Linux'
}

const readOr = (file: string, fallback: string) => {
  try {
    return readFileSync(file, 'utf8').trim() || fallback
  } catch {
    return fallback
  }
}

/** Reads the host facts: /proc/sys/kernel/random/boot_id, uname -r, /etc/os-release, /etc/machine-id. */
export function readHostFacts(): HostFacts {
  return {
    bootID: readOr('/proc/sys/kernel/random/boot_id', '00000000-0000-0000-0000-000000000000'),
    kernelVersion: release(),
    osImage: prettyName(readOr('/etc/os-release', '')),
    machineSeed: readOr('/etc/machine-id', hostname()),
  }
}
