import { createHash, createHmac } from 'node:crypto'

/**
 * SHA256 fingerprint of a public key blob, as `ssh-keygen -l` prints it.
 *
 *   fingerprint(blob) → 'SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8'
 */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`
}

/** How a host appears in known_hosts: `host`, or `[host]:port` when the port is not 22. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`
}

function matchesName(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|')
    const h = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64')
    return h === hash
  }
  return field.split(',').includes(name)
}

/**
 * Checks a host key against known_hosts text (plain and hashed `|1|` entries).
 *
 *   checkHostKey(text, '[127.0.0.1]:2222', blob) → 'match' | 'unknown' | 'changed'
 */
export function checkHostKey(
  knownHosts: string,
  name: string,
  keyBlob: Buffer,
): 'match' | 'unknown' | 'changed' {
  const b64 = keyBlob.toString('base64')
  let seen = false
  for (const raw of knownHosts.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const parts = line.split(/\s+/)
    const [names, , key] = parts[0].startsWith('@') ? parts.slice(1) : parts
    if (!names || !key || !matchesName(names, name)) continue
    if (key === b64) return 'match'
    seen = true
  }
  return seen ? 'changed' : 'unknown'
}

/** The known_hosts line for a newly accepted key: `name type base64`. */
export function knownHostsLine(name: string, keyBlob: Buffer): string {
  const len = keyBlob.readUInt32BE(0)
  const type = keyBlob.subarray(4, 4 + len).toString('utf8')
  return `${name} ${type} ${keyBlob.toString('base64')}\n`
}
