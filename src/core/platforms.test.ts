import { describe, expect, it } from 'vitest'
import { choosePlatforms, covers, type NodeFacts, nodePlatform, uncoveredMessage } from './platforms.js'

const node = (name: string, arch: string, extra: Partial<NodeFacts> = {}): NodeFacts => ({
  name,
  architecture: arch,
  archLabel: arch,
  ...extra,
})

describe('nodePlatform', () => {
  it.each([
    [node('a', 'arm64'), 'linux/arm64'],
    [node('a', 'amd64'), 'linux/amd64'],
    [node('a', 'arm'), 'linux/arm/v7'],
    [node('a', 'arm', { armVariant: 'v6' }), 'linux/arm/v6'],
    [node('a', 'arm', { armVariant: 'x' }), 'linux/arm/v7'],
    [{ name: 'a', archLabel: 'arm' }, 'linux/arm/v7'],
    [{ name: 'a', architecture: 'arm64', archLabel: 'amd64' }, 'linux/arm64'],
    [{ name: 'a' }, undefined],
    [{ name: 'a', architecture: '../x' }, undefined],
  ])('%j → %s', (n, want) => expect(nodePlatform(n)).toBe(want))
})

describe('covers', () => {
  it.each([
    ['linux/arm64', 'linux/arm64', true],
    ['linux/arm/v7', 'linux/arm/v7', true],
    ['linux/arm/v6', 'linux/arm/v7', true],
    ['linux/arm/v7', 'linux/arm/v6', false],
    ['linux/arm', 'linux/arm/v7', true],
    ['linux/arm64', 'linux/arm/v7', false],
    ['linux/arm/v7', 'linux/arm64', false],
    ['linux/amd64', 'linux/arm64', false],
  ])('%s on a %s node → %s', (built, n, want) => expect(covers(built, n)).toBe(want))
})

describe('choosePlatforms', () => {
  const mixed = [node('pi-1', 'arm64'), node('pi-2', 'arm'), node('pi-3', 'arm64'), node('pi-4', 'arm')]
  it.each([
    ['no platforms, arm64 nodes', undefined, [node('pi-1', 'arm64')], ['linux/arm64'], 'nodes', []],
    [
      'no platforms, all arm',
      undefined,
      [node('pi-1', 'arm'), node('pi-2', 'arm')],
      ['linux/arm/v7'],
      'nodes',
      [],
    ],
    ['no platforms, mixed', undefined, mixed, ['linux/arm/v7', 'linux/arm64'], 'nodes', []],
    [
      'no platforms, a cordoned amd64 server',
      undefined,
      [node('srv', 'amd64', { unschedulable: true }), node('pi-1', 'arm64')],
      ['linux/arm64'],
      'nodes',
      [],
    ],
    [
      'no platforms, a NoSchedule-tainted server',
      undefined,
      [node('srv', 'amd64', { taintEffects: ['NoSchedule'] }), node('pi-1', 'arm')],
      ['linux/arm/v7'],
      'nodes',
      [],
    ],
    ['no platforms, no nodes', undefined, [], ['linux/arm64'], 'default', []],
    ['empty list counts as not set', [], [node('pi-1', 'arm')], ['linux/arm/v7'], 'nodes', []],
    [
      'platforms cover the nodes',
      ['linux/arm64,linux/arm/v7'],
      mixed,
      ['linux/arm64', 'linux/arm/v7'],
      'asked',
      [],
    ],
    [
      'platforms leave out the arm nodes',
      ['linux/arm64'],
      mixed,
      ['linux/arm64'],
      'asked',
      [{ platform: 'linux/arm/v7', nodes: ['pi-2', 'pi-4'] }],
    ],
    [
      'v7 on a v6 node is left out',
      ['linux/arm/v7'],
      [node('zero', 'arm', { armVariant: 'v6' })],
      ['linux/arm/v7'],
      'asked',
      [{ platform: 'linux/arm/v6', nodes: ['zero'] }],
    ],
    [
      'a cordoned node needs nothing',
      ['linux/arm64'],
      [node('pi-1', 'arm64'), node('pi-2', 'arm', { unschedulable: true })],
      ['linux/arm64'],
      'asked',
      [],
    ],
  ])('%s', (_, asked, nodes, platforms, from, uncovered) =>
    expect(choosePlatforms(asked, nodes)).toEqual({ platforms, from, uncovered }),
  )

  it('names the nodes left out in one line', () =>
    expect(uncoveredMessage(['linux/arm64'], [{ platform: 'linux/arm/v7', nodes: ['pi-2', 'pi-4'] }])).toBe(
      'platforms linux/arm64 leave out nodes pi-2, pi-4 (linux/arm/v7)',
    ))
})
