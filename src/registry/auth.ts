import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

export interface Credentials {
  username: string
  password: string
  /**
   * docker's identity token (an OAuth2 refresh token): `identitytoken` in config.json, or a
   * credential helper answering Username `<token>`. It buys Bearer tokens at the realm (POST,
   * grant_type=refresh_token); username and password are then unused.
   */
  identityToken?: string
}

/** Where docker takes a registry's credentials from, by its config file. */
export type CredentialSource =
  | { kind: 'helper'; helper: string; via: 'credHelpers' | 'credsStore'; serverUrl: string }
  | { kind: 'file'; credentials: Credentials | undefined }

/** The address docker hands to a credential helper and keys `auths` by: Docker Hub's is its v1 URL. */
export function dockerServerUrl(registry: string): string {
  return registry === 'docker.io' || registry === 'index.docker.io' ? 'https://index.docker.io/v1/' : registry
}

/**
 * Where docker's CLI looks for a registry's credentials: `credHelpers[<host>]` first, then
 * `credsStore` (for every registry), else the `auths` entries of the file itself.
 *
 *   credentialSource({ credHelpers: { 'r:5000': 'pass' }, credsStore: 'desktop' }, 'r:5000') → { kind: 'helper', helper: 'pass', via: 'credHelpers', serverUrl: 'r:5000' }
 *   credentialSource({ credsStore: 'desktop' }, 'ghcr.io') → { kind: 'helper', helper: 'desktop', via: 'credsStore', serverUrl: 'ghcr.io' }
 *   credentialSource({ auths: { 'r:5000': { identitytoken: 't' } } }, 'r:5000') → { kind: 'file', credentials: { username: '<token>', password: '', identityToken: 't' } }
 */
export function credentialSource(doc: unknown, registry: string): CredentialSource {
  const d = (doc ?? {}) as { credHelpers?: Record<string, unknown>; credsStore?: unknown }
  const named = d.credHelpers?.[registry]
  const serverUrl = dockerServerUrl(registry)
  if (typeof named === 'string' && named)
    return { kind: 'helper', helper: named, via: 'credHelpers', serverUrl }
  if (typeof d.credsStore === 'string' && d.credsStore) {
    return { kind: 'helper', helper: d.credsStore, via: 'credsStore', serverUrl }
  }
  return { kind: 'file', credentials: credentialsFromDockerConfig(doc, registry) }
}

/** What a credential helper's `get` printed: credentials, docker's "not found", or a reason it is unusable. */
export type HelperAnswer = { credentials: Credentials } | { notFound: true } | { invalid: string }

/**
 * Reads a credential helper's `get` answer (docker-credential-helpers' protocol): exit 0 with
 * `{"ServerURL","Username","Secret"}` on stdout; Username `<token>` means Secret is an identity
 * token; exit ≠ 0 printing `credentials not found in native keychain` means none stored.
 *
 *   parseHelperAnswer(0, '{"Username":"ci","Secret":"pw"}') → { credentials: { username: 'ci', password: 'pw' } }
 *   parseHelperAnswer(0, '{"Username":"<token>","Secret":"rt"}') → { credentials: { username: '<token>', password: '', identityToken: 'rt' } }
 *   parseHelperAnswer(1, 'credentials not found in native keychain') → { notFound: true }
 */
export function parseHelperAnswer(code: number, stdout: string): HelperAnswer {
  if (code !== 0) {
    if (/credentials not found/i.test(stdout)) return { notFound: true }
    return { invalid: `exit code ${code}` }
  }
  let j: { Username?: unknown; Secret?: unknown }
  try {
    j = JSON.parse(stdout) as typeof j
  } catch {
    return { invalid: 'its answer is not JSON' }
  }
  if (typeof j?.Username !== 'string' || typeof j.Secret !== 'string') {
    return { invalid: 'its answer has no string Username and Secret' }
  }
  if (j.Username === '<token>')
    return { credentials: { username: '<token>', password: '', identityToken: j.Secret } }
  return { credentials: { username: j.Username, password: j.Secret } }
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
  const auths = (
    doc as {
      auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>
    }
  )?.auths
  if (!auths) return undefined
  const candidates = [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`]
  if (registry === 'docker.io') candidates.push('https://index.docker.io/v1/', 'index.docker.io')
  for (const key of candidates) {
    const e = auths[key]
    if (!e) continue
    if (typeof e.identitytoken === 'string' && e.identitytoken) {
      return { username: '<token>', password: '', identityToken: e.identitytoken }
    }
    if (e.auth) {
      const text = Buffer.from(e.auth, 'base64').toString('utf8')
      const i = text.indexOf(':')
      if (i > 0) return { username: text.slice(0, i), password: text.slice(i + 1) }
    }
    if (e.username && e.password) return { username: e.username, password: e.password }
  }
  return undefined
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG || join(env.HOME ?? homedir(), '.docker'), 'config.json')
}

/**
 * Reads `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`, if any: its `auths` entries
 * only, without running a credential helper (the sandbox's own pulls, which must not block on
 * a process). Commands use `dockerCredentials` (docker-credentials.ts), which runs helpers.
 */
export function dockerConfigCredentials(
  registry: string,
  env: NodeJS.ProcessEnv = process.env,
): Credentials | undefined {
  const file = dockerConfigFile(env)
  if (!existsSync(file)) return undefined
  try {
    return credentialsFromDockerConfig(JSON.parse(readFileSync(file, 'utf8')), registry)
  } catch {
    return undefined
  }
}
