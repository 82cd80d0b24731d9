import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, isAbsolute, join, normalize } from 'node:path'

/** The files the single-file executable carries (one SEA asset, JSON): package.json, templates/, sample-app/, … */
export interface SeaFiles {
  version: string
  files: { path: string; mode: number; data: string }[]
}

/** The SEA asset's key (scripts/build-sea.mjs writes it). */
export const FILES_ASSET = 'edgecanary-files.json'

/**
 * Where a single-file executable's files live on disk: one directory per version and content,
 * so that two builds never share one and a new build never reuses stale templates.
 *
 *   filesDir('/home/me/.edgecanary', '0.1.0', '{"version":"0.1.0",…}') → '/home/me/.edgecanary/sea/0.1.0-3f2a9c1b7d4e'
 */
export function filesDir(home: string, version: string, json: string): string {
  const hash = createHash('sha256').update(json).digest('hex').slice(0, 12)
  return join(home, 'sea', `${version}-${hash}`)
}

/**
 * Writes the files to `dir` unless a complete copy is there: into a private temporary directory
 * first, then renamed, so that two edgecanary processes starting together (the CLI and the sandbox
 * it spawns) never see half a copy. Paths that would leave `dir` are refused.
 */
export function extractFiles(dir: string, files: SeaFiles): string {
  if (existsSync(join(dir, 'package.json'))) return dir
  const tmp = `${dir}.tmp-${process.pid}`
  rmSync(tmp, { recursive: true, force: true })
  try {
    for (const f of files.files) {
      const rel = normalize(f.path)
      if (isAbsolute(rel) || rel.startsWith('..')) throw new Error(`refusing to extract ${f.path}`)
      const target = join(tmp, rel)
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 })
      writeFileSync(target, Buffer.from(f.data, 'base64'), { mode: f.mode & 0o755 })
    }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true })
    throw err
  }
  mkdirSync(dirname(dir), { recursive: true, mode: 0o700 })
  try {
    renameSync(tmp, dir)
  } catch (err) {
    // another process won the race: its copy is the same
    rmSync(tmp, { recursive: true, force: true })
    if (!existsSync(join(dir, 'package.json'))) throw err
  }
  return dir
}
