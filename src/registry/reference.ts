import { UsageError } from '../errors.js'

export interface ImageRef {
  /** host[:port]; `docker.io` when the reference names no registry. */
  registry: string
  repository: string
  tag?: string
  digest?: string
}

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/
const DIGEST = /^sha256:[a-f0-9]{64}$/
const REPO = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/

/**
 * Whether `v` can be an image tag (and so an edgecanary version).
 *
 *   isValidTag('2.0.1') → true;  isValidTag('2.0 beta') → false;  isValidTag('.x') → false
 */
export function isValidTag(v: string): boolean {
  return TAG.test(v)
}

/** Throws a UsageError with a hint when `v` is not a valid tag. */
export function assertValidVersion(v: string): void {
  if (!isValidTag(v)) {
    throw new UsageError(`version "${v}" is not a valid image tag`, {
      hint: 'use letters, digits, ".", "_" or "-" (at most 128, not starting with "." or "-"), e.g. 2.0.1',
    })
  }
}

/**
 * Parses an image reference the way Docker does: the first component is a registry when it
 * has a "." or ":" or is "localhost".
 *
 *   parseImageRef('127.0.0.1:5000/kubeapp:2.0')
 *     → { registry: '127.0.0.1:5000', repository: 'kubeapp', tag: '2.0' }
 *   parseImageRef('reg.lan/team/app@sha256:ab…') → { registry: 'reg.lan', repository: 'team/app', digest: 'sha256:ab…' }
 *   parseImageRef('nginx') → { registry: 'docker.io', repository: 'library/nginx', tag: 'latest' }
 */
export function parseImageRef(ref: string): ImageRef {
  const bad = (why: string) =>
    new UsageError(`image reference "${ref}" is invalid: ${why}`, {
      hint: 'use HOST[:PORT]/NAME[:TAG][@sha256:DIGEST], e.g. 127.0.0.1:5000/kubeapp:2.0',
    })
  let rest = ref.trim()
  if (!rest) throw bad('it is empty')
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST.test(digest)) throw bad('the digest must be sha256: and 64 hex digits')
  }
  let registry = 'docker.io'
  const slash = rest.indexOf('/')
  if (slash > 0) {
    const first = rest.slice(0, slash)
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = first
      rest = rest.slice(slash + 1)
    }
  }
  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon >= 0) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!isValidTag(tag)) throw bad(`tag "${tag}" is not valid`)
  }
  if (registry === 'docker.io' && !rest.includes('/')) rest = `library/${rest}`
  if (!REPO.test(rest)) throw bad(`repository "${rest}" must be lowercase letters, digits and separators`)
  if (!tag && !digest) tag = 'latest'
  return { registry, repository: rest, tag, digest }
}

/**
 * The tag a reference names, if it names one (`latest` is not assumed); undefined for a
 * digest-only or invalid reference. The one way the project reads a version off an image.
 *
 *   imageTag('127.0.0.1:5000/kubeapp:2.0@sha256:…') → '2.0'
 *   imageTag('127.0.0.1:5000/kubeapp@sha256:…') → undefined   // not '5000/kubeapp'
 *   imageTag('nginx') → undefined
 */
export function imageTag(ref: string): string | undefined {
  let r: ImageRef
  try {
    r = parseImageRef(ref)
  } catch {
    return undefined
  }
  return r.tag && ref.split('@')[0].endsWith(`:${r.tag}`) ? r.tag : undefined
}

/**
 * Formats a reference back: `host/repo:tag@digest`.
 *
 *   formatImageRef({ registry: 'r:5000', repository: 'app', tag: '2.0', digest: 'sha256:ab' }) → 'r:5000/app:2.0@sha256:ab'
 */
export function formatImageRef(r: ImageRef): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`
}

/**
 * Whether plain HTTP is allowed without --insecure: only for loopback registries.
 *
 *   isLoopbackRegistry('127.0.0.1:5000') → true;  isLoopbackRegistry('registry.lan:5000') → false
 */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}
