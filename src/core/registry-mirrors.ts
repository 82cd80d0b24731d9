import { parse as parseYaml } from 'yaml'
import { ConfigError } from '../errors.js'
import { formatImageRef, parseImageRef } from '../registry/reference.js'

/**
 * k3s's `registries.yaml` (/etc/rancher/k3s/registries.yaml), the part the sandbox uses:
 *
 *   mirrors:
 *     docker.io:
 *       endpoint: ["http://127.0.0.1:5000"]      # tried in order; the registry itself last
 *       rewrite: { "^library/(.*)": "mirror/$1" }
 *   configs:
 *     "127.0.0.1:5000":
 *       auth: { username: u, password: p }        # or auth: <base64 user:pass>
 *       tls: { ca_file: /x/ca.crt, insecure_skip_verify: false }
 *
 * A mirror listed with no endpoint is served by the sandbox's embedded registry, as k3s's
 * embedded registry mirror serves the registries listed without endpoints. `"*"` is the
 * mirror of every registry not listed by name.
 */
export interface RegistriesConfig {
  mirrors: Record<string, { endpoint: string[]; rewrite: [pattern: string, replacement: string][] }>
  configs: Record<string, RegistryHostConfig>
}

export interface RegistryHostConfig {
  auth?: { username?: string; password?: string; auth?: string; identityToken?: string }
  tls?: { caFile?: string; certFile?: string; keyFile?: string; insecureSkipVerify?: boolean }
}

/** One place to pull from, in order: `host[:port]` with scheme, the repository there, and its config. */
export interface PullEndpoint {
  host: string
  scheme: 'http' | 'https'
  repository: string
  /** Tag or digest to ask for. */
  reference: string
  /** The registry's own endpoint (tried last), as opposed to a mirror. */
  upstream: boolean
  credentials?: { username: string; password: string }
  tls?: RegistryHostConfig['tls']
}

const MAX_BYTES = 64 * 1024
const MAX_MIRRORS = 64
const MAX_ENDPOINTS = 16
/** Docker Hub's API host, where `docker.io` names are pulled from. */
const DOCKER_HUB = 'registry-1.docker.io'

/**
 * Parses and checks a k3s registries.yaml; `source` names the file in messages.
 *
 *   parseRegistries('mirrors:\n  docker.io:\n    endpoint: ["http://127.0.0.1:5000"]\n', 'r.yaml')
 *     → { mirrors: { 'docker.io': { endpoint: ['http://127.0.0.1:5000'], rewrite: [] } }, configs: {} }
 */
export function parseRegistries(text: string, source: string): RegistriesConfig {
  const bad = (why: string) =>
    new ConfigError(`${source}: ${why}`, {
      hint: 'write it as k3s does: mirrors.<registry>.endpoint: [URL, …], rewrite: {regex: replacement}; configs.<host>.auth / .tls',
    })
  if (Buffer.byteLength(text) > MAX_BYTES) throw bad(`larger than ${MAX_BYTES / 1024} KiB`)
  let doc: unknown
  try {
    doc = parseYaml(text) ?? {}
  } catch (err) {
    throw bad(`not valid YAML (${(err as Error).message.split('\n')[0]})`)
  }
  if (!isMap(doc)) throw bad('the top level must be a map with mirrors and configs')
  for (const k of Object.keys(doc))
    if (k !== 'mirrors' && k !== 'configs') throw bad(`unknown key "${k}" (expected mirrors, configs)`)
  const out: RegistriesConfig = { mirrors: {}, configs: {} }
  const mirrors = doc.mirrors ?? {}
  if (!isMap(mirrors)) throw bad('mirrors must be a map of registry names')
  if (Object.keys(mirrors).length > MAX_MIRRORS) throw bad(`more than ${MAX_MIRRORS} mirrors`)
  for (const [name, m] of Object.entries(mirrors)) {
    checkRegistryName(name, bad)
    const entry = m ?? {}
    if (!isMap(entry)) throw bad(`mirrors.${name} must be a map (endpoint, rewrite)`)
    for (const k of Object.keys(entry))
      if (k !== 'endpoint' && k !== 'rewrite') throw bad(`mirrors.${name}: unknown key "${k}"`)
    const endpoints = entry.endpoint ?? []
    if (!Array.isArray(endpoints) || endpoints.some((e) => typeof e !== 'string'))
      throw bad(`mirrors.${name}.endpoint must be a list of URLs`)
    if (endpoints.length > MAX_ENDPOINTS)
      throw bad(`mirrors.${name}.endpoint has more than ${MAX_ENDPOINTS} URLs`)
    for (const e of endpoints as string[])
      endpointUrl(e, (why) => bad(`mirrors.${name}.endpoint "${e}": ${why}`))
    const rewrite = entry.rewrite ?? {}
    if (!isMap(rewrite)) throw bad(`mirrors.${name}.rewrite must be a map of regex: replacement`)
    const rules: [string, string][] = []
    for (const [pattern, replacement] of Object.entries(rewrite)) {
      if (typeof replacement !== 'string')
        throw bad(`mirrors.${name}.rewrite "${pattern}" must map to a string`)
      try {
        new RegExp(pattern)
      } catch {
        throw bad(`mirrors.${name}.rewrite "${pattern}" is not a valid regular expression`)
      }
      rules.push([pattern, replacement])
    }
    out.mirrors[name] = { endpoint: endpoints as string[], rewrite: rules }
  }
  const configs = doc.configs ?? {}
  if (!isMap(configs)) throw bad('configs must be a map of registry hosts')
  for (const [host, c] of Object.entries(configs)) {
    checkRegistryName(host, bad)
    if (!isMap(c)) throw bad(`configs.${host} must be a map (auth, tls)`)
    const cfg: RegistryHostConfig = {}
    for (const k of Object.keys(c))
      if (k !== 'auth' && k !== 'tls') throw bad(`configs.${host}: unknown key "${k}"`)
    if (c.auth !== undefined) {
      if (!isMap(c.auth)) throw bad(`configs.${host}.auth must be a map`)
      const a = c.auth
      const str = (k: string) => {
        const v = a[k]
        if (v !== undefined && typeof v !== 'string') throw bad(`configs.${host}.auth.${k} must be a string`)
        return v as string | undefined
      }
      cfg.auth = {
        username: str('username'),
        password: str('password'),
        auth: str('auth'),
        identityToken: str('identity_token') ?? str('token'),
      }
    }
    if (c.tls !== undefined) {
      if (!isMap(c.tls)) throw bad(`configs.${host}.tls must be a map`)
      const t = c.tls
      const file = (k: string) => {
        const v = t[k]
        if (v !== undefined && (typeof v !== 'string' || !v.startsWith('/')))
          throw bad(`configs.${host}.tls.${k} must be an absolute path`)
        return v as string | undefined
      }
      const skip = t.insecure_skip_verify
      if (skip !== undefined && typeof skip !== 'boolean')
        throw bad(`configs.${host}.tls.insecure_skip_verify must be true or false`)
      cfg.tls = {
        caFile: file('ca_file'),
        certFile: file('cert_file'),
        keyFile: file('key_file'),
        insecureSkipVerify: skip as boolean | undefined,
      }
    }
    out.configs[host] = cfg
  }
  return out
}

/**
 * The fully qualified name a runtime pulls for an image reference, as containerd normalises it.
 *
 *   normalizeImage('busybox') → 'docker.io/library/busybox:latest'
 *   normalizeImage('rancher/k3s:v1.32') → 'docker.io/rancher/k3s:v1.32'
 *   normalizeImage('127.0.0.1:5000/app@sha256:…') → '127.0.0.1:5000/app@sha256:…'
 */
export function normalizeImage(ref: string): string {
  return formatImageRef(parseImageRef(ref))
}

/**
 * Where to pull `ref` from, in order: each endpoint of the registry's mirror (or of the `"*"`
 * mirror), with the mirror's first matching rewrite applied to the repository, then the
 * registry itself (Docker Hub's `registry-1.docker.io` for `docker.io`). A mirror without
 * endpoints uses `embedded` (the sandbox registry, plain HTTP on loopback). Credentials and
 * TLS come from `configs` by endpoint host.
 *
 *   pullEndpoints('busybox', { mirrors: { 'docker.io': { endpoint: [], rewrite: [] } }, configs: {} }, '127.0.0.1:5000')
 *     → [ { host: '127.0.0.1:5000', scheme: 'http', repository: 'library/busybox', reference: 'latest', upstream: false },
 *         { host: 'registry-1.docker.io', scheme: 'https', repository: 'library/busybox', reference: 'latest', upstream: true } ]
 */
export function pullEndpoints(
  ref: string,
  cfg: RegistriesConfig | undefined,
  embedded?: string,
): PullEndpoint[] {
  const r = parseImageRef(ref)
  const reference = r.digest ?? r.tag ?? 'latest'
  const out: PullEndpoint[] = []
  const withConfig = (e: Omit<PullEndpoint, 'credentials' | 'tls'>): PullEndpoint => {
    const c = cfg?.configs[e.host] ?? (e.upstream ? cfg?.configs[r.registry] : undefined)
    const credentials = c?.auth ? credentialsOf(c.auth) : undefined
    return { ...e, ...(credentials ? { credentials } : {}), ...(c?.tls ? { tls: c.tls } : {}) }
  }
  const mirror = cfg?.mirrors[r.registry] ?? cfg?.mirrors['*']
  if (mirror) {
    const repository = rewriteRepository(r.repository, mirror.rewrite)
    const urls = mirror.endpoint.length > 0 ? mirror.endpoint : embedded ? [`http://${embedded}`] : []
    for (const u of urls) {
      const url = endpointUrl(u, (why) => new Error(why))
      out.push(withConfig({ host: url.host, scheme: url.scheme, repository, reference, upstream: false }))
    }
  }
  const upstreamHost = r.registry === 'docker.io' ? DOCKER_HUB : r.registry
  if (!out.some((e) => e.host === upstreamHost && e.repository === r.repository)) {
    const scheme = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(upstreamHost) ? 'http' : 'https'
    out.push(withConfig({ host: upstreamHost, scheme, repository: r.repository, reference, upstream: true }))
  }
  return out
}

/**
 * A mirror's rewrite: the first rule whose regex matches the repository replaces it (`$1` …);
 * a result that is no valid repository name leaves it unchanged.
 *
 *   rewriteRepository('library/busybox', [['^library/(.*)', 'mirror/$1']]) → 'mirror/busybox'
 */
export function rewriteRepository(repository: string, rules: [string, string][]): string {
  for (const [pattern, replacement] of rules) {
    const re = new RegExp(pattern)
    if (!re.test(repository)) continue
    const next = repository.replace(re, replacement)
    return /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(next)
      ? next
      : repository
  }
  return repository
}

function credentialsOf(a: NonNullable<RegistryHostConfig['auth']>): PullEndpoint['credentials'] {
  if (a.username && a.password !== undefined) return { username: a.username, password: a.password }
  if (a.auth) {
    const text = Buffer.from(a.auth, 'base64').toString('utf8')
    const i = text.indexOf(':')
    if (i > 0) return { username: text.slice(0, i), password: text.slice(i + 1) }
  }
  return undefined
}

function endpointUrl(text: string, bad: (why: string) => Error): { scheme: 'http' | 'https'; host: string } {
  // k3s takes a bare host as https
  const withScheme = /^[a-z]+:\/\//i.test(text) ? text : `https://${text}`
  let u: URL
  try {
    u = new URL(withScheme)
  } catch {
    throw bad('not a URL')
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw bad('the scheme must be http or https')
  if (u.username || u.password) throw bad('credentials belong in configs.<host>.auth, not in the URL')
  if (u.pathname !== '/' && u.pathname !== '' && u.pathname !== '/v2' && u.pathname !== '/v2/')
    throw bad('a path other than /v2 is not supported')
  return { scheme: u.protocol === 'http:' ? 'http' : 'https', host: u.host }
}

function checkRegistryName(name: string, bad: (why: string) => Error): void {
  if (name === '*') return
  if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(name) && !/^\[[0-9a-fA-F:]+\](:\d{1,5})?$/.test(name))
    throw bad(`"${name}" is not a registry host[:port] (or "*")`)
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
