import { createHash } from 'node:crypto'
import { RegistryClient } from './client.js'
import { dockerCredentials } from './docker-credentials.js'
import { formatImageRef, type ImageRef, parseImageRef } from './reference.js'

/**
 * Pins a reference to the digest a registry reported for it: a tag can be moved later, a
 * digest cannot, so what is deployed is exactly what was checked.
 *
 *   pinImageRef('r:5000/kubeapp:2.0', 'sha256:ab…') → 'r:5000/kubeapp:2.0@sha256:ab…'
 *   pinImageRef('r:5000/kubeapp:2.0@sha256:ab…', 'sha256:ab…') → unchanged
 */
export function pinImageRef(ref: string, digest: string): string {
  const r: ImageRef = parseImageRef(ref)
  return formatImageRef({ ...r, digest: r.digest ?? digest })
}

/**
 * Resolves `repo:tag` to `repo:tag@sha256:…` through the registry (GET of the manifest; the
 * digest is the registry's Docker-Content-Digest, else the sha256 of the manifest bytes).
 * A reference that already names a digest is returned as is, without a request. Undefined
 * when the registry does not know the tag.
 */
export async function resolveImageDigest(
  image: string,
  o: { insecure?: boolean } = {},
): Promise<string | undefined> {
  const ref = parseImageRef(image)
  if (ref.digest) return image
  const client = new RegistryClient({
    registry: ref.registry,
    repository: ref.repository,
    insecure: o.insecure,
    credentials: await dockerCredentials(ref.registry),
    retries: 1,
  })
  const m = await client.getManifest(ref.tag ?? 'latest')
  if (!m) return undefined
  const digest = m.digest ?? `sha256:${createHash('sha256').update(m.bytes).digest('hex')}`
  return pinImageRef(image, digest)
}
