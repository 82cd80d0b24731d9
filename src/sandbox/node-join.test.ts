import { describe, expect, it } from 'vitest'
import { bearerMatches, joinDecision, parseJoinRequest } from './node-join.js'

describe('parseJoinRequest', () => {
  it.each([
    // body, result
    [
      { name: 'pi-b', arch: 'arm64' },
      { name: 'pi-b', arch: 'arm64' },
    ],
    [{ name: 'pi-b' }, { name: 'pi-b', arch: 'arm64' }],
    [
      { name: 'node.lan', arch: 'amd64' },
      { name: 'node.lan', arch: 'amd64' },
    ],
    [{ name: 'Pi B', arch: 'arm64' }, 'error'],
    [{ name: '-pi', arch: 'arm64' }, 'error'],
    [{ name: 'pi-b', arch: 'mips' }, 'error'],
    [{ arch: 'arm64' }, 'error'],
    [null, 'error'],
    ['pi-b', 'error'],
  ])('%j → %j', (body, want) => {
    const got = parseJoinRequest(body)
    if (want === 'error') expect(got).toHaveProperty('error')
    else expect(got).toEqual(want)
  })
})

describe('joinDecision', () => {
  const running = [
    { name: 'pi-1', arch: 'arm64' },
    { name: 'pi-b', arch: 'arm64' },
  ]
  it.each([
    // name, arch, decision
    ['pi-c', 'arm64', 'start'],
    ['pi-b', 'arm64', 'exists'],
    ['pi-1', 'arm64', 'exists'],
    ['pi-b', 'amd64', 'conflict'],
  ])('%s (%s) → %s', (name, arch, want) => {
    expect(joinDecision(running, { name, arch })).toBe(want)
  })
})

describe('bearerMatches', () => {
  it.each([
    // header, token, matches
    ['Bearer s3cret', 's3cret', true],
    ['Bearer s3cre', 's3cret', false],
    ['Bearer s3cret ', 's3cret', false],
    ['bearer s3cret', 's3cret', false],
    [undefined, 's3cret', false],
    ['Bearer ', '', false],
  ])('%s with %s → %s', (header, token, want) => {
    expect(bearerMatches(header, token)).toBe(want)
  })
})
