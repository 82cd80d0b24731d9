import { describe, expect, it } from 'vitest'
import { assignNodeArchs, emulatorFor } from './node-archs.js'

const archs = (r: ReturnType<typeof assignNodeArchs>) =>
  'nodes' in r ? r.nodes.map((n) => `${n.name}=${n.arch}`).join(',') : r.problem

describe('assignNodeArchs', () => {
  it.each([
    [4, 'arm64', undefined, 'pi-1=arm64,pi-2=arm64,pi-3=arm64,pi-4=arm64'],
    [4, 'arm64,arm', undefined, 'pi-1=arm64,pi-2=arm,pi-3=arm64,pi-4=arm'],
    [4, 'arm64,arm,amd64', undefined, 'pi-1=arm64,pi-2=arm,pi-3=amd64,pi-4=arm64'],
    [2, 'arm64', 'pi-2=arm', 'pi-1=arm64,pi-2=arm'],
    [3, 'arm', 'pi-1=amd64, pi-3=arm64', 'pi-1=amd64,pi-2=arm,pi-3=arm64'],
    [0, 'arm64', undefined, ''],
  ])('%i nodes, --arch %s, --nodes-arch %s → %s', (n, arch, byName, want) =>
    expect(archs(assignNodeArchs(n, arch, byName))).toBe(want),
  )

  it.each([
    [2, 'mips', undefined, '--arch "mips" is not one of arm64, arm, amd64'],
    [2, 'arm64,', undefined, 'pi-1=arm64,pi-2=arm64'],
    [2, ',', undefined, '--arch is empty'],
    [2, 'arm64', 'pi-9=arm', '--nodes-arch names node "pi-9", but the nodes are pi-1, pi-2'],
    [2, 'arm64', 'pi-1=sparc', '--nodes-arch pi-1=sparc: "sparc" is not one of arm64, arm, amd64'],
    [2, 'arm64', 'pi-1', '--nodes-arch entry "pi-1" is not NAME=ARCH'],
    [2, 'arm64', 'pi-1=arm,pi-1=amd64', '--nodes-arch names node "pi-1" twice'],
    [0, 'arm64', 'pi-1=arm', '--nodes-arch names node "pi-1", but the nodes are none (--nodes 0)'],
  ])('%i nodes, --arch %s, --nodes-arch %s → %s', (n, arch, byName, want) =>
    expect(archs(assignNodeArchs(n, arch, byName))).toBe(want),
  )
})

describe('emulatorFor', () => {
  it.each([
    ['arm64', 'amd64', 'qemu-aarch64-static'],
    ['arm', 'amd64', 'qemu-arm-static'],
    ['amd64', 'amd64', undefined],
    ['arm64', 'arm64', undefined],
    ['amd64', 'arm64', 'qemu-x86_64-static'],
    ['mips', 'amd64', undefined],
  ])('%s binaries on a %s host → %s', (arch, host, qemu) => expect(emulatorFor(arch, host)).toBe(qemu))
})
