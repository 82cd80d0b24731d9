import { timingSafeEqual } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { UsageError } from '../errors.js'

/**
 * Nodes that join a running sandbox, as k3s agents join a k3s server with K3S_TOKEN.
 *
 * Endpoint (served by the API server, see apiserver/index.ts):
 *   POST /admin/join
 *   Authorization: Bearer <join token>        (the content of --join-token-file)
 *   Content-Type: application/json
 *   {"name":"pi-b","arch":"arm64"}
 * Answers 201 {"name","arch","created":true} for a new node, 200 {…,"created":false} for a
 * node of that name and arch that is already there, 400 for a bad body, 401 for a missing or
 * wrong token, 404 when the server has no join token, 409 for a name taken by another arch.
 * The join token authorises this one request and nothing else.
 */
export const JOIN_PATH = '/admin/join'

export const NODE_ARCHES = ['arm64', 'amd64', 'arm'] as const

export interface NodeSpec {
  name: string
  arch: string
}

export interface JoinedNode extends NodeSpec {
  joinedAt: string
}

const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

/**
 * Reads a join request body: a node name (a DNS-1123 subdomain, as Node names are) and an
 * architecture the kubelet knows.
 *
 *   parseJoinRequest({ name: 'pi-b', arch: 'arm64' }) → { name: 'pi-b', arch: 'arm64' }
 *   parseJoinRequest({ name: 'Pi B', arch: 'arm64' }) → { error: 'name "Pi B" is not a valid node name …' }
 *   parseJoinRequest({ name: 'pi-b', arch: 'mips' })  → { error: 'arch "mips" is not one of arm64, amd64, arm' }
 */
export function parseJoinRequest(body: unknown): NodeSpec | { error: string } {
  const b = (typeof body === 'object' && body !== null ? body : {}) as { name?: unknown; arch?: unknown }
  if (typeof b.name !== 'string' || b.name.length > 253 || !NODE_NAME.test(b.name))
    return {
      error: `name ${JSON.stringify(b.name ?? null)} is not a valid node name (lower-case letters, digits, "-" and ".")`,
    }
  const arch = b.arch ?? 'arm64'
  if (typeof arch !== 'string' || !(NODE_ARCHES as readonly string[]).includes(arch))
    return { error: `arch ${JSON.stringify(arch)} is not one of ${NODE_ARCHES.join(', ')}` }
  return { name: b.name, arch }
}

/**
 * What a join does given the nodes already running:
 *
 *   joinDecision([{ name: 'pi-1', arch: 'arm64' }], { name: 'pi-b', arch: 'arm64' }) → 'start'
 *   joinDecision([{ name: 'pi-b', arch: 'arm64' }], { name: 'pi-b', arch: 'arm64' }) → 'exists'
 *   joinDecision([{ name: 'pi-b', arch: 'amd64' }], { name: 'pi-b', arch: 'arm64' }) → 'conflict'
 */
export function joinDecision(running: NodeSpec[], wanted: NodeSpec): 'start' | 'exists' | 'conflict' {
  const same = running.find((n) => n.name === wanted.name)
  if (!same) return 'start'
  return same.arch === wanted.arch ? 'exists' : 'conflict'
}

/** True when an Authorization header carries exactly `Bearer <token>` (compared in constant time). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (!header || !token) return false
  const given = Buffer.from(header)
  const wanted = Buffer.from(`Bearer ${token}`)
  return given.length === wanted.length && timingSafeEqual(given, wanted)
}

/** The join token in `file` (trimmed, like K3S_TOKEN_FILE); a missing or empty file is a usage error. */
export function readJoinToken(file: string): string {
  const token = existsSync(file) ? readFileSync(file, 'utf8').trim() : ''
  if (!token)
    throw new UsageError(`no join token in ${file}`, {
      hint: 'write a token to the file first, e.g. `openssl rand -hex 24 > token` (and chmod 600 it)',
    })
  return token
}

/** Nodes joined earlier, from `joined-nodes.json` in the sandbox state dir (none when absent or unreadable). */
export function readJoinedNodes(file: string): JoinedNode[] {
  if (!existsSync(file)) return []
  try {
    const list = JSON.parse(readFileSync(file, 'utf8')) as unknown
    if (!Array.isArray(list)) return []
    return list.flatMap((n: unknown) => {
      const spec = parseJoinRequest(n)
      if ('error' in spec) return []
      const at = (n as { joinedAt?: unknown }).joinedAt
      return [{ ...spec, joinedAt: typeof at === 'string' ? at : new Date(0).toISOString() }]
    })
  } catch {
    return []
  }
}

export function writeJoinedNodes(file: string, nodes: JoinedNode[]): void {
  writeFileSync(file, `${JSON.stringify(nodes, null, 2)}\n`, { mode: 0o600 })
}
