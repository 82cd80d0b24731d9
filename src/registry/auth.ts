import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

export interface Credentials {
  username: string
  password: string
}

export interface BearerChallenge {
  scheme: 'bearer'
  realm: string
  service?: string
  scope?: string
}
export type Challenge = BearerChallenge | { scheme: 'basic'; realm?: string }

/**
 * Parses a `WWW-Authenticate` header of a registry.
 *
 *   parseChallenge('Bearer realm="https://auth/token",service="reg",scope="repository:app:push,pull"')
 *   → { scheme: 'bearer', realm: 'https://auth/token', service: 'reg', scope: 'repository:app:push,pull' }
 *   parseChallenge('Basic realm="Registry Realm"') → { scheme: 'basic', realm: 'Registry Realm' }
 */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*(\w+)\s*(.*)$/.exec(header)
  if (!m) return undefined
  const params: Record<string, string> = {}
  const re = /(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g
  for (let p = re.exec(m[2]); p; p = re.exec(m[2])) {
    // a quoted-pair (`\"`) stands for the character itself (RFC 7235 quoted-string)
    params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]
  }
  const scheme = m[1].toLowerCase()
  if (scheme === 'bearer' && params.realm) {
    return { scheme: 'bearer', realm: params.realm, service: params.service, scope: params.scope }
  }
  if (scheme === 'basic') return { scheme: 'basic', realm: params.realm }
  return undefined
}

/**
 * Credentials for a registry from a docker config document (`auths.<host>.auth` base64
 * `user:pass`, or `username`/`password`).
 *
 *   credentialsFromDockerConfig({ auths: { 'r:5000': { auth: 'dTpw' } } }, 'r:5000') → { username: 'u', password: 'p' }
 */
export function credentialsFromDockerConfig(doc: unknown, registry: string): Credentials | undefined {
  const auths = (doc as { auths?: Record<string, { auth?: string; username?: string; password?: string }> })
    ?.auths
  if (!auths) return undefined
  const candidates = [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`]
  if (registry === 'docker.io') candidates.push('https://index.docker.io/v1/', 'index.docker.io')
  for (const key of candidates) {
    const e = auths[key]
    if (!e) continue
    if (e.auth) {
      const text = Buffer.from(e.auth, 'base64').toString('utf8')
      const i = text.indexOf(':')
      if (i > 0) return { username: text.slice(0, i), password: text.slice(i + 1) }
    }
    if (e.username && e.password) return { username: e.username, password: e.password }
  }
  return undefined
}

/** Reads `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`, if any. */
export function dockerConfigCredentials(
  registry: string,
  env: NodeJS.ProcessEnv = process.env,
): Credentials | undefined {
  const file = join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker'), 'config.json')
  if (!existsSync(file)) return undefined
  try {
    return credentialsFromDockerConfig(JSON.parse(readFileSync(file, 'utf8')), registry)
  } catch {
    return undefined
  }
}
