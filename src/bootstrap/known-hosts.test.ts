import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { checkHostKey } from './known-hosts.js'

const key = (n: number) => {
  const type = Buffer.from('ssh-ed25519')
  const len = Buffer.alloc(4)
  len.writeUInt32BE(type.length)
  return Buffer.concat([len, type, Buffer.alloc(32, n)])
}
const b64 = (n: number) => key(n).toString('base64')
const hashed = (name: string) => {
  const salt = Buffer.alloc(20, 7)
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`
}

describe('checkHostKey', () => {
  it.each([
    // known_hosts, name, key, verdict
    [`10.0.0.10 ssh-ed25519 ${b64(1)}`, '10.0.0.10', 1, 'match'],
    [`10.0.0.10 ssh-ed25519 ${b64(1)}`, '10.0.0.11', 1, 'unknown'],
    [`10.0.0.10 ssh-ed25519 ${b64(1)}`, '10.0.0.10', 2, 'changed'],
    [`pi-a,10.0.0.10 ssh-ed25519 ${b64(1)}`, '10.0.0.10', 1, 'match'],
    [`[127.0.0.1]:2222 ssh-ed25519 ${b64(1)}`, '[127.0.0.1]:2222', 1, 'match'],
    [`${hashed('10.0.0.10')} ssh-ed25519 ${b64(1)}`, '10.0.0.10', 1, 'match'],
    [`10.0.0.* ssh-ed25519 ${b64(1)}`, '10.0.0.10', 1, 'match'],
    [`10.0.0.?,!10.0.0.5 ssh-ed25519 ${b64(1)}`, '10.0.0.5', 1, 'unknown'],
    // @revoked wins over a matching plain line, before or after it
    [`10.0.0.10 ssh-ed25519 ${b64(1)}\n@revoked 10.0.0.10 ssh-ed25519 ${b64(1)}`, '10.0.0.10', 1, 'revoked'],
    [`@revoked * ssh-ed25519 ${b64(1)}\n10.0.0.10 ssh-ed25519 ${b64(1)}`, '10.0.0.10', 1, 'revoked'],
    // a revoked other key does not matter
    [`@revoked * ssh-ed25519 ${b64(9)}\n10.0.0.10 ssh-ed25519 ${b64(1)}`, '10.0.0.10', 1, 'match'],
    // a CA for the host: said as such, not "changed"; a plain key of the host still counts
    [`@cert-authority *.lan,10.0.0.* ssh-ed25519 ${b64(5)}`, '10.0.0.10', 1, 'cert-authority'],
    [`@cert-authority * ssh-ed25519 ${b64(5)}\n10.0.0.10 ssh-ed25519 ${b64(1)}`, '10.0.0.10', 1, 'match'],
    [`@cert-authority * ssh-ed25519 ${b64(5)}\n10.0.0.10 ssh-ed25519 ${b64(1)}`, '10.0.0.10', 2, 'changed'],
    [`@cert-authority *.lan ssh-ed25519 ${b64(5)}`, '10.0.0.10', 1, 'unknown'],
  ])('%j for %s, key %i → %s', (text, name, k, verdict) => {
    expect(checkHostKey(text, name, key(k))).toBe(verdict)
  })
})
