import { describe, expect, it } from 'vitest'
import { nodeSystemInfo, prettyName, readHostFacts } from './node-info.js'

const host = {
  bootID: 'b00t',
  kernelVersion: '6.1.0-28-arm64',
  osImage: 'Debian GNU/Linux 12 (bookworm)',
  machineSeed: 'm1',
}

describe('NodeSystemInfo', () => {
  it('has every field the API requires, with the node architecture and host facts', () => {
    const info = nodeSystemInfo('pi-1', 'arm64', host)
    expect(Object.keys(info).sort()).toEqual(
      [
        'architecture',
        'bootID',
        'containerRuntimeVersion',
        'kernelVersion',
        'kubeProxyVersion',
        'kubeletVersion',
        'machineID',
        'operatingSystem',
        'osImage',
        'systemUUID',
      ].sort(),
    )
    expect(info).toMatchObject({
      architecture: 'arm64',
      operatingSystem: 'linux',
      bootID: 'b00t',
      kernelVersion: '6.1.0-28-arm64',
    })
    expect(info.machineID).toMatch(/^[0-9a-f]{32}$/)
    expect(info.systemUUID).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })

  it('ids are stable per node and differ between nodes', () => {
    expect(nodeSystemInfo('pi-1', 'arm64', host)).toEqual(nodeSystemInfo('pi-1', 'arm64', host))
    expect(nodeSystemInfo('pi-2', 'arm64', host).machineID).not.toBe(
      nodeSystemInfo('pi-1', 'arm64', host).machineID,
    )
    expect(nodeSystemInfo('pi-2', 'arm64', host).systemUUID).not.toBe(
      nodeSystemInfo('pi-1', 'arm64', host).systemUUID,
    )
  })

  it.each([
    ['NAME="Debian"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n', 'Debian GNU/Linux 12 (bookworm)'],
    ["PRETTY_NAME='Alpine Linux v3.20'", 'Alpine Linux v3.20'],
    ['PRETTY_NAME=Ubuntu', 'Ubuntu'],
    ['', 'Linux'],
  ])('prettyName(%j) = %j', (text, out) => expect(prettyName(text)).toBe(out))

  it('reads the boot id and kernel of this host', () => {
    const facts = readHostFacts()
    expect(facts.bootID).toMatch(/^[0-9a-f-]{36}$/)
    expect(facts.kernelVersion.length).toBeGreaterThan(0)
  })
})
