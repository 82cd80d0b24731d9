// npm run bench:build — side by side in one run against one local registry:
//  - warm rebuild + push after a one-line change: edgecanary vs the manual path
//    (go build + docker build --platform linux/arm64 + docker push, dockerd started here);
//  - unchanged rebuild: time and blobs uploaded;
//  - compressed image size of sample-app;
//  - warm rebuild + push for 2 platforms (arm64 + arm/v7, a mixed Pi cluster) vs 1 (goal ≤ 1.6×).
import { execFile } from 'node:child_process'
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startRegistry } from '../../src/registry/server.js'
import { runCli } from '../helpers/cli.js'
import { startDockerd } from '../helpers/dockerd.js'
import { repoRoot } from '../helpers/sandbox.js'

const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), 'ec-bench-build-'))
const src = join(dir, 'src')
cpSync(join(repoRoot, 'sample-app'), src, { recursive: true })
const registry = await startRegistry({ dir: join(dir, 'registry') })
const repo = `127.0.0.1:${registry.port}/kubeapp`
const env = { ...process.env, EDGECANARY_HOME: join(dir, 'home'), CI: 'true' }
const touch = (n: number) =>
  writeFileSync(join(src, 'bench_change.go'), `package main\n\nconst benchChange = ${n}\n`)
const SINGLE = 'linux/arm64'
const TWO = 'linux/arm64,linux/arm/v7'
const ec = async (version: string, platform = SINGLE) => {
  const t = performance.now()
  const r = await runCli(
    ['build', '--version', version, '--repo', repo, '--source', src, '--platform', platform, '--json'],
    { env },
  )
  if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.stderr.trim()}`)
  return {
    ms: performance.now() - t,
    out: JSON.parse(r.stdout) as { blobsUploaded: number; compressedSize: number },
  }
}

/**
 * Why a step failed, in full: a failed command's own stderr (the last lines), not only
 * "Command failed: …", which names the command but not the reason.
 */
function reason(err: unknown): string {
  const e = err as { message?: string; stderr?: string; code?: number | string; signal?: string }
  const stderr = typeof e.stderr === 'string' ? e.stderr.trim() : ''
  if (!stderr) return e.message ?? String(err)
  const exit = e.signal ? `killed by ${e.signal}` : `exit ${e.code}`
  return `${exit}: ${stderr.split('\n').slice(-6).join('\n    ')}`
}

let dockerd: { socket: string; stop(): Promise<void> } | undefined
let stage = 'edgecanary build'
try {
  touch(0)
  await ec('warmup')
  touch(1)
  const changed = await ec('1.1')
  const same = await ec('1.1')
  console.log(
    `edgecanary warm rebuild + push after a one-line change: ${(changed.ms / 1000).toFixed(2)} s (${changed.out.blobsUploaded} blobs uploaded)`,
  )
  console.log(
    `edgecanary unchanged rebuild: ${(same.ms / 1000).toFixed(2)} s, ${same.out.blobsUploaded} blobs uploaded   goal ≤ 1 s and 0`,
  )
  console.log(
    `compressed image size (linux/arm64): ${(changed.out.compressedSize / 1024 / 1024).toFixed(2)} MiB   goal ≤ 3 MiB`,
  )

  // a mixed Pi cluster (arm64 + 32-bit arm): the same warm rebuild + push for two platforms,
  // compiled side by side; single and double alternate, the median of 3 of each is compared
  stage = 'edgecanary build for 2 platforms'
  touch(10)
  await ec('warmup-2', TWO)
  const singles: number[] = []
  const doubles: number[] = []
  for (let i = 0; i < 3; i++) {
    touch(11 + 2 * i)
    singles.push((await ec(`2.${i}`)).ms)
    touch(12 + 2 * i)
    doubles.push((await ec(`3.${i}`, TWO)).ms)
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const [one, two] = [median(singles), median(doubles)]
  console.log(
    `edgecanary warm rebuild + push for 2 platforms (${TWO}) after a one-line change: ${(two / 1000).toFixed(2)} s vs ${(one / 1000).toFixed(2)} s for ${SINGLE} alone (medians of 3, ${availableParallelism()} cores) → ${(two / one).toFixed(2)}×   goal ≤ 1.6×`,
  )

  // the manual path, against a dockerd of our own
  const ctx = join(dir, 'context')
  mkdirSync(ctx)
  stage = 'start dockerd (manual path)'
  dockerd = await startDockerd(dir)
  const denv = {
    ...process.env,
    DOCKER_HOST: `unix://${dockerd.socket}`,
    DOCKER_CONFIG: join(dir, 'docker-config'),
  }
  const manual = async (n: number) => {
    touch(n)
    const t = performance.now()
    stage = 'go build (manual path)'
    await run(
      'go',
      ['build', '-trimpath', '-ldflags', '-s -w -X main.version=1.2', '-o', join(ctx, 'app'), '.'],
      { cwd: src, env: { ...process.env, CGO_ENABLED: '0', GOOS: 'linux', GOARCH: 'arm64' } },
    )
    copyFileSync(join(repoRoot, 'templates', 'Dockerfile'), join(ctx, 'Dockerfile'))
    stage = 'docker build --platform linux/arm64 (manual path)'
    await run('docker', ['build', '--platform', 'linux/arm64', '-t', `${repo}:1.2`, ctx], {
      env: { ...denv, DOCKER_BUILDKIT: '0' },
    })
    stage = 'docker push (manual path)'
    await run('docker', ['push', `${repo}:1.2`], { env: denv })
    return performance.now() - t
  }
  await manual(2)
  const manualMs = await manual(3)
  touch(4)
  stage = 'edgecanary build (side by side)'
  const ecMs = (await ec('1.3')).ms
  console.log(
    `warm rebuild + push after a one-line change, side by side: edgecanary ${(ecMs / 1000).toFixed(2)} s vs manual go build + docker build + docker push ${(manualMs / 1000).toFixed(2)} s → ratio ${(ecMs / manualMs).toFixed(2)}   goal ≤ 0.5`,
  )
} catch (err) {
  console.log(`${stage} failed, so the comparison is incomplete: ${reason(err)}`)
} finally {
  await dockerd?.stop()
  await registry.close()
  rmSync(dir, { recursive: true, force: true })
}
