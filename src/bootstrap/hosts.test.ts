import { describe, expect, it } from 'vitest'
import { UsageError } from '../errors.js'
import { hostLabel, resolveHosts } from './hosts.js'

const sshConfig = `Host pi-a
  HostName 10.0.0.10
  User alice
  Port 2200
  IdentityFile ~/.ssh/pi_ed25519

Host pi-*
  User bob
  IdentityFile ~/.ssh/fleet
`
const d = { sshConfig, home: '/home/me' }

describe('resolveHosts', () => {
  it.each([
    // spec, defaults patch, address, user, port, identityFiles
    ['pi@10.0.0.10', {}, '10.0.0.10', 'pi', 22, []],
    ['10.0.0.11:2222', {}, '10.0.0.11', 'pi', 2222, []],
    ['10.0.0.11', { user: 'ubuntu', port: 2022 }, '10.0.0.11', 'ubuntu', 2022, []],
    ['pi-a', {}, '10.0.0.10', 'alice', 2200, ['/home/me/.ssh/pi_ed25519', '/home/me/.ssh/fleet']],
    ['root@pi-a:22', {}, '10.0.0.10', 'root', 22, ['/home/me/.ssh/pi_ed25519', '/home/me/.ssh/fleet']],
    ['pi-b', { user: 'carol' }, 'pi-b', 'carol', 22, ['/home/me/.ssh/fleet']],
    ['pi-b', { keyFile: '/k' }, 'pi-b', 'bob', 22, ['/k', '/home/me/.ssh/fleet']],
    ['pi@[fd00::10]:2222', {}, 'fd00::10', 'pi', 2222, []],
  ])('%s %j', (spec, patch, address, user, port, identityFiles) => {
    const [t] = resolveHosts(spec, { ...d, ...patch })
    expect(t).toEqual({ spec, address, user, port, identityFiles })
  })

  it('keeps the order: the first host is the server', () => {
    expect(resolveHosts('a, b ,c', d).map((t) => t.address)).toEqual(['a', 'b', 'c'])
  })

  it.each([
    ['', 'names no host'],
    ['pi@', 'is not a host'],
    ['pi@host name', 'is not a host'],
    ['pi@10.0.0.1:70000', 'between 1 and 65535'],
    ['pi@10.0.0.1,10.0.0.1', 'named twice'],
    ['pi-a,10.0.0.10:2200', 'named twice'],
  ])('%j is refused: %s', (spec, text) => {
    expect(() => resolveHosts(spec, d)).toThrow(UsageError)
    expect(() => resolveHosts(spec, d)).toThrow(text)
  })

  it.each(['', 'pi root', '-o', 'a;b', '$(id)', 'x'.repeat(33)])('--user %j is refused', (user) => {
    expect(() => resolveHosts('10.0.0.1', { ...d, user })).toThrow('is not a user name')
  })

  it('labels hosts as ssh would', () => {
    const [a, b] = resolveHosts('pi@10.0.0.10,pi@[fd00::1]:2222', d)
    expect([hostLabel(a), hostLabel(b)]).toEqual(['pi@10.0.0.10', 'pi@[fd00::1]:2222'])
  })
})
