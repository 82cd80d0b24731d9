import { createHash } from 'node:crypto'

/** A registry answered something that does not match what was asked: the pull fails (ErrImagePull). */
export class VerificationError extends Error {}

const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/

/** containerd's limit on a manifest or index (4 MiB): a bigger one is refused before parsing. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024

/**
 * Whether `d` is a digest a path may be built from: `sha256:` and 64 lowercase hex digits
 * (or `sha512:` and 128). Anything else, a `../` in particular, is refused.
 *
 *   isDigest('sha256:' + 'a'.repeat(64)) → true;  isDigest('../../tmp/x') → false;  isDigest('sha256:AB') → false
 */
export function isDigest(d: unknown): d is string {
  return typeof d === 'string' && DIGEST.test(d)
}

/** The digest, or a VerificationError naming what carried it. */
export function checkDigest(d: unknown, what: string): string {
  if (!isDigest(d))
    throw new VerificationError(`${what} has an invalid digest ${JSON.stringify(d).slice(0, 80)}`)
  return d
}

/**
 * The digest of `bytes` in the algorithm of `like` (sha256 unless it says sha512).
 *
 *   digestIn(Buffer.from(''), 'sha256:…') → 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
 */
export function digestIn(bytes: Buffer, like = 'sha256:'): string {
  const alg = like.startsWith('sha512:') ? 'sha512' : 'sha256'
  return `${alg}:${createHash(alg).update(bytes).digest('hex')}`
}

/**
 * The digest a manifest is known by, after checking its bytes: against the digest asked for
 * (a pull by digest, or an index entry), else against the registry's `Docker-Content-Digest`
 * header when it sent one; with neither, the digest of the bytes. Throws on any mismatch, a
 * malformed digest, or a manifest over 4 MiB.
 *
 *   manifestDigest(bytes, { asked: digestOf(bytes) }) → digestOf(bytes)
 *   manifestDigest(bytes, { header: '../../tmp/x' }) → throws VerificationError
 *   manifestDigest(bytes, {}) → digestOf(bytes)
 */
export function manifestDigest(bytes: Buffer, o: { asked?: string; header?: string }): string {
  if (bytes.length > MAX_MANIFEST_BYTES)
    throw new VerificationError(`manifest is ${bytes.length} bytes, over the ${MAX_MANIFEST_BYTES} limit`)
  if (o.asked !== undefined) {
    const asked = checkDigest(o.asked, 'the reference')
    const got = digestIn(bytes, asked)
    if (got !== asked) throw new VerificationError(`manifest digest mismatch: asked for ${asked}, got ${got}`)
    return asked
  }
  if (o.header !== undefined) {
    const header = checkDigest(o.header, 'the registry’s Docker-Content-Digest header')
    const got = digestIn(bytes, header)
    if (got !== header)
      throw new VerificationError(`manifest digest mismatch: registry says ${header}, content is ${got}`)
    return header
  }
  return digestIn(bytes)
}

/** Checks a blob's bytes against its digest (already syntax-checked). */
export function checkBlob(bytes: Buffer, digest: string): void {
  const got = digestIn(bytes, digest)
  if (got !== digest) throw new VerificationError(`blob ${digest} failed verification: content is ${got}`)
}
