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

/** A known_hosts host pattern: `*` and `?` wildcards, as OpenSSH's match_pattern. */
function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  )
  return re.test(name)
}

/**
 * Whether a known_hosts names field covers `name`: a hashed `|1|salt|hash` entry, or a comma
 * list of patterns where a matching `!pattern` excludes the host (OpenSSH's match_hostname).
 */
function matchesName(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|')
    const h = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64')
    return h === hash
  }
  let hit = false
  for (const p of field.split(',')) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), name)) return false
    } else if (globMatch(p, name)) hit = true
  }
  return hit
}

export type HostKeyVerdict = 'match' | 'unknown' | 'changed' | 'revoked' | 'cert-authority'

/**
 * Checks a host key against known_hosts text (plain, wildcard and hashed `|1|` entries), with
 * OpenSSH's markers: a key on a `@revoked` line is refused whatever else the file says; a
 * `@cert-authority` line for the host (and no plain key of it) means the host is trusted by
 * a certificate, which edgecanary cannot check: it says so instead of calling the key changed.
 *
 *   checkHostKey(text, '[127.0.0.1]:2222', blob) → 'match' | 'unknown' | 'changed' | 'revoked' | 'cert-authority'
 */
export function checkHostKey(knownHosts: string, name: string, keyBlob: Buffer): HostKeyVerdict {
  const b64 = keyBlob.toString('base64')
  let seen = false
  let matched = false
  let ca = false
  for (const raw of knownHosts.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const parts = line.split(/\s+/)
    const marker = parts[0].startsWith('@') ? parts[0] : undefined
    const [names, , key] = marker ? parts.slice(1) : parts
    if (!names || !key || !matchesName(names, name)) continue
    if (marker === '@revoked') {
      if (key === b64) return 'revoked'
      continue
    }
    if (marker === '@cert-authority') {
      ca = true
      continue
    }
    if (marker) continue
    if (key === b64) matched = true
    else seen = true
  }
  if (matched) return 'match'
  if (seen) return 'changed'
  return ca ? 'cert-authority' : 'unknown'
}

/** The known_hosts line for a newly accepted key: `name type base64`. */
export function knownHostsLine(name: string, keyBlob: Buffer): string {
  const len = keyBlob.readUInt32BE(0)
  const type = keyBlob.subarray(4, 4 + len).toString('utf8')
  return `${name} ${type} ${keyBlob.toString('base64')}\n`
}
