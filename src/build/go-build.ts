import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { promisify } from 'node:util'
import { UsageError } from '../errors.js'
import type { Platform } from './oci-image.js'

const run = promisify(execFile)

/**
 * The `go build` environment and arguments for a platform and version.
 *
 *   goBuildCommand({ os: 'linux', architecture: 'arm', variant: 'v7' }, '2.0', '/out/app')
 *   → { env: { CGO_ENABLED: '0', GOOS: 'linux', GOARCH: 'arm', GOARM: '7' },
 *       args: ['build', '-trimpath', '-buildvcs=false', '-ldflags', '-s -w -X main.version=2.0', '-o', '/out/app', '.'] }
 */
export function goBuildCommand(
  platform: Platform,
  version: string,
  out: string,
): { env: Record<string, string>; args: string[] } {
  const env: Record<string, string> = { CGO_ENABLED: '0', GOOS: platform.os, GOARCH: platform.architecture }
  if (platform.architecture === 'arm') env.GOARM = (platform.variant ?? 'v7').replace('v', '')
  return {
    env,
    args: [
      'build',
      '-trimpath',
      '-buildvcs=false',
      '-ldflags',
      `-s -w -X main.version=${version}`,
      '-o',
      out,
      '.',
    ],
  }
}

/** Hash of every input that changes the binary: Go files, go.mod/go.sum, Go version, flags. */
export function inputHash(
  source: string,
  goVersion: string,
  cmd: { env: Record<string, string>; args: string[] },
): string {
  const h = createHash('sha256')
  h.update(goVersion)
  h.update(
    JSON.stringify({ ...cmd, args: cmd.args.filter((a, i, all) => all[i - 1] !== '-o' && a !== '-o') }),
  )
  for (const f of sourceFiles(source)) {
    h.update(relative(source, f))
    h.update(readFileSync(f))
  }
  return h.digest('hex')
}

function sourceFiles(dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name)
    if (e.isDirectory()) {
      if (!e.name.startsWith('.') && e.name !== 'vendor' && e.name !== 'testdata') out.push(...sourceFiles(p))
    } else if (/\.go$|^go\.(mod|sum)$/.test(e.name) && !e.name.endsWith('_test.go')) out.push(p)
  }
  return out
}

let asked: Promise<string> | undefined

/** `go version`, asked once per process (every platform of a build keys its cache with it). */
function goVersion(): Promise<string> {
  asked ??= run('go', ['version']).then(
    ({ stdout }) => stdout.trim(),
    () => {
      asked = undefined
      throw new UsageError('the Go toolchain is not installed (`go` not found on PATH)', {
        hint: 'install it: sudo apt-get install golang-go (or https://go.dev/dl), then run again',
      })
    },
  )
  return asked
}

/**
 * Cross-compiles the Go program in `source` for a platform. Skips compiling when the inputs
 * are unchanged (binary cached by input hash under `cacheDir`).
 */
export async function crossCompile(opts: {
  source: string
  version: string
  platform: Platform
  cacheDir: string
  signal?: AbortSignal
}): Promise<{ binary: string; cached: boolean }> {
  if (!existsSync(opts.source) || !statSync(opts.source).isDirectory()) {
    throw new UsageError(`source directory "${opts.source}" does not exist`, {
      hint: 'pass --source DIR pointing at a Go main package (default: sample-app)',
    })
  }
  if (!existsSync(join(opts.source, 'go.mod'))) {
    throw new UsageError(`"${opts.source}" has no go.mod`, {
      hint: 'point --source at a Go module with a main package',
    })
  }
  const binDir = join(opts.cacheDir, 'bin')
  mkdirSync(binDir, { recursive: true })
  const probe = goBuildCommand(opts.platform, opts.version, 'OUT')
  const key = inputHash(opts.source, await goVersion(), probe)
  const binary = join(binDir, key)
  if (existsSync(binary)) return { binary, cached: true }
  const tmp = `${binary}.tmp-${process.pid}`
  const cmd = goBuildCommand(opts.platform, opts.version, tmp)
  try {
    await run('go', cmd.args, {
      cwd: opts.source,
      env: { ...process.env, ...cmd.env },
      maxBuffer: 16 << 20,
      signal: opts.signal,
    })
  } catch (err) {
    rmSync(tmp, { force: true })
    if (opts.signal?.aborted) throw err
    const stderr = (err as { stderr?: string }).stderr ?? String(err)
    throw new UsageError(`go build failed: ${stderr.trim().split('\n')[0]}`, {
      hint: `run \`go build .\` in ${opts.source} to see every error`,
    })
  }
  renameSync(tmp, binary)
  return { binary, cached: false }
}
