import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { repoRoot } from '../helpers/sandbox.js'

const MAX_MIB = 30

/**
 * What `npm install -g edgecanary` puts on a user's disk: the package as `npm pack` makes it
 * (dist/ built by the global setup, so --ignore-scripts), installed into a temporary prefix from
 * the npm cache (the registry when the cache lacks a package).
 */
describe('a global install', { timeout: 240_000 }, () => {
  let dir: string
  let prefix: string
  let bin: string
  const npm = (args: string[], cwd = repoRoot) =>
    execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 200_000 })

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ec-install-'))
    prefix = join(dir, 'prefix')
    npm(['pack', '--ignore-scripts', '--pack-destination', dir])
    const tgz = readdirSync(dir).find((f) => /^edgecanary-.*\.tgz$/.test(f))
    if (!tgz) throw new Error('npm pack made no tarball')
    npm(
      ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(dir, tgz)],
      dir,
    )
    bin = join(prefix, 'bin', 'edgecanary')
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it(`takes at most ${MAX_MIB} MiB on disk, with no source maps and no development entry`, () => {
    const kib = Number(execFileSync('du', ['-sk', prefix], { encoding: 'utf8' }).split('\t')[0])
    process.stdout.write(`global install: ${(kib / 1024).toFixed(1)} MiB on disk (du -sk ${prefix})\n`)
    expect(kib / 1024).toBeLessThanOrEqual(MAX_MIB)
    const pkgDir = join(prefix, 'lib', 'node_modules', 'edgecanary')
    const files = execFileSync(
      'find',
      [pkgDir, '-path', `${pkgDir}/node_modules`, '-prune', '-o', '-type', 'f', '-print'],
      {
        encoding: 'utf8',
      },
    ).split('\n')
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([])
    expect(files).not.toContain(join(pkgDir, 'bin', 'dev.js'))
    expect(files).toContain(join(pkgDir, 'LICENSE'))
    expect(files).toContain(join(pkgDir, 'sample-app', 'main.go'))
    // what dist/ bundles is not installed again
    const deps = readdirSync(join(pkgDir, 'node_modules'))
    for (const bundled of ['yaml', 'zod', 'listr2', '@kubernetes']) expect(deps).not.toContain(bundled)
  })

  it('runs: --version, help, and commands that load the bundled Kubernetes client and sandbox code', () => {
    const home = join(dir, 'home')
    const env = { ...process.env, HOME: home, EDGECANARY_HOME: join(home, '.edgecanary') }
    const version = spawnSync(bin, ['--version'], { encoding: 'utf8', env })
    expect(version.stdout).toMatch(/^edgecanary\/\d+\.\d+\.\d+ /)
    expect(spawnSync(bin, ['help', 'release'], { encoding: 'utf8', env }).stdout).toContain(
      '$ edgecanary release',
    )
    // a kubeconfig whose server refuses connections: version reads it with client-node and says so
    const kubeconfig = join(dir, 'kubeconfig')
    writeFileSync(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
      { mode: 0o600 },
    )
    const v = spawnSync(bin, ['version', '--json', '--kubeconfig', kubeconfig], { encoding: 'utf8', env })
    expect(v.status, v.stderr).toBe(0)
    expect(JSON.parse(v.stdout)).toMatchObject({ serverError: expect.stringContaining('unreachable') })
    const sandbox = spawnSync(bin, ['sandbox', 'status', '--json'], { encoding: 'utf8', env })
    expect(sandbox.status, sandbox.stderr).toBe(0)
    expect(JSON.parse(sandbox.stdout)).toMatchObject({ running: false })
  })
})
