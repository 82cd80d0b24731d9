import {
  chmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  rmSync,
  type Stats,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { join, posix } from 'node:path'
import { extract } from 'tar-stream'
import { VerificationError } from './verify.js'

/** A layer that cannot be applied (corrupt tar, a write through a symlink): the pull fails. */
export class UnpackError extends VerificationError {}

/**
 * The path of a tar entry inside the root, as containerd applies it: absolute or climbing
 * names are clamped to the root, `./` and doubled slashes dropped; '' is the root itself.
 *
 *   entryPath('./usr/bin/app') → 'usr/bin/app'
 *   entryPath('../../etc/passwd') → 'etc/passwd'
 *   entryPath('/') → ''
 */
export function entryPath(name: string): string {
  return posix.normalize(`/${name}`).replace(/^\/+|\/+$/g, '')
}

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p)
  } catch {
    return undefined
  }
}

/**
 * Makes sure every parent of `rel` under `root` is a real directory (creating missing ones),
 * so that no write leaves the root through a symlink an earlier entry planted.
 */
function safeParents(root: string, rel: string): void {
  const parts = rel.split('/').slice(0, -1)
  let cur = root
  for (const part of parts) {
    cur = join(cur, part)
    const st = lstatOrUndefined(cur)
    if (!st) mkdirSync(cur, { mode: 0o755 })
    else if (st.isSymbolicLink()) throw new UnpackError(`layer entry ${rel} goes through a symlink`)
    else if (!st.isDirectory()) throw new UnpackError(`layer entry ${rel} goes through a non-directory`)
  }
}

/**
 * Applies one uncompressed layer tar to `root`, as containerd's applier does: later entries
 * replace earlier ones (a directory replaces a file of that name), whiteouts (`.wh.x`,
 * `.wh..wh..opq`) delete what lower layers put there, hard links must point inside the root,
 * devices are skipped, set-id bits dropped. No write ever goes through a symlink. A corrupt
 * tar or an impossible entry rejects with an UnpackError; nothing outside `root` is touched.
 */
export async function applyLayer(tar: Buffer, root: string): Promise<void> {
  const ex = extract()
  const written = new Set<string>()
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = []
      stream.on('data', (c: unknown) => chunks.push(c as Buffer))
      stream.on('error', (e: Error) => ex.destroy(e))
      stream.on('end', () => {
        try {
          applyEntry(root, header, Buffer.concat(chunks), written)
          next()
        } catch (err) {
          ex.destroy(err instanceof UnpackError ? err : new UnpackError((err as Error).message))
        }
      })
    })
    ex.on('finish', () => resolve())
    ex.on('error', (e: Error) =>
      reject(e instanceof UnpackError ? e : new UnpackError(`bad layer: ${e.message}`)),
    )
    ex.on('close', () => resolve())
  })
  ex.end(tar)
  await done
}

function applyEntry(
  root: string,
  header: { name: string; type?: string | null; mode?: number | null; linkname?: string | null },
  body: Buffer,
  written: Set<string>,
): void {
  const rel = entryPath(header.name)
  if (rel === '') {
    if (header.type === 'directory') chmodSync(root, ((header.mode ?? 0o755) & 0o777) | 0o700)
    return
  }
  const base = posix.basename(rel)
  const dir = posix.dirname(rel) === '.' ? '' : posix.dirname(rel)
  if (base.startsWith('.wh.')) {
    safeParents(root, rel)
    if (base === '.wh..wh..opq') {
      const abs = join(root, dir)
      for (const child of readdirSync(abs)) {
        const childRel = dir ? `${dir}/${child}` : child
        if (!written.has(childRel)) rmSync(join(abs, child), { recursive: true, force: true })
      }
    } else rmSync(join(root, dir, base.slice(4)), { recursive: true, force: true })
    return
  }
  safeParents(root, rel)
  const target = join(root, rel)
  const existing = lstatOrUndefined(target)
  const type = header.type ?? 'file'
  if (existing && !(existing.isDirectory() && type === 'directory'))
    rmSync(target, { recursive: true, force: true })
  written.add(rel)
  const mode = (header.mode ?? 0o644) & 0o777
  switch (type) {
    case 'directory':
      if (!existing?.isDirectory()) mkdirSync(target)
      chmodSync(target, mode | 0o700)
      return
    case 'file':
    case 'contiguous-file':
      writeFileSync(target, body, { mode })
      chmodSync(target, mode | 0o600)
      return
    case 'symlink':
      symlinkSync(header.linkname ?? '', target)
      return
    case 'link': {
      const src = entryPath(header.linkname ?? '')
      safeParents(root, src)
      const st = lstatOrUndefined(join(root, src))
      if (!src || !st?.isFile())
        throw new UnpackError(`hard link ${rel} → ${header.linkname}: no such file in the layer`)
      linkSync(join(root, src), target)
      return
    }
    default:
      // character and block devices, FIFOs: an unprivileged runtime cannot make them
      written.delete(rel)
  }
}
