// npm run bench:fleet — 8 sandbox clusters (one node each, 2 pods of the app), released as a
// fleet in waves 1,50%,100% (1, then 3, then 4 clusters; --parallel 4), against one cluster's
// release time with the same flags. Goal (issue 21): fleet ≤ 1.3 × (one cluster × waves),
// since the clusters of a wave run in parallel. All 8 sandboxes share this machine's cores,
// so a wave of 4 clusters here competes for CPU that 4 Pis would each have to themselves.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCli } from '../helpers/cli.js'
import { startFleet } from '../helpers/fleet.js'

const N = Number(process.env.CLUSTERS ?? 8)
const WAVES = '1,50%,100%'
const flags = ['--interval', '2s', '--iterations', '2', '--load', '20']

const t0 = performance.now()
const fleet = await startFleet({ n: N, prefix: 'bench', inits: 4 })
console.error(`${N} sandboxes up and initialized in ${((performance.now() - t0) / 1000).toFixed(1)}s`)
const ec = (args: string[]) => runCli(args, { env: fleet.env, cwd: fleet.work, timeoutMs: 600_000 })
// 8 clusters' pods share 2 cores here, which makes p99 latency the machine's, not the app's:
// the latency bound is raised (for the reference release too) so the bench measures time
const yaml = join(fleet.work, 'edgecanary.yaml')
writeFileSync(yaml, `${readFileSync(yaml, 'utf8')}analysis:\n  maxLatencyMs: 5000\n`)
try {
  // one cluster's release, twice (the first also compiles its version): the median of the two
  // is the reference, each a plain `release` of that cluster as a user would run it
  const singles: number[] = []
  for (const [i, v] of ['2.0', '2.1'].entries()) {
    // built first: the reference is the release alone, while the fleet's time below includes
    // its build and its pushes to every registry (a conservative comparison)
    const repo = `${fleet.sandboxes[i].registry}/kubeapp`
    const b = await ec(['build', '--version', v, '--repo', repo])
    if (b.status !== 0) throw new Error(`${b.stdout}\n${b.stderr}`)
    const t = performance.now()
    const r = await ec([
      'release',
      v,
      '--context',
      fleet.names[i],
      '--image',
      `${repo}:${v}`,
      ...flags,
      '--json',
    ])
    if (r.status !== 0) throw new Error(`${r.stdout}\n${r.stderr}`)
    singles.push(performance.now() - t)
  }
  const single = Math.min(...singles) + (Math.max(...singles) - Math.min(...singles)) / 2
  const t = performance.now()
  const r = await ec([
    'release',
    '3.0',
    '--contexts',
    fleet.names.join(','),
    '--waves',
    WAVES,
    ...flags,
    '--json',
  ])
  const wall = performance.now() - t
  if (r.status !== 0) throw new Error(`${r.stdout}\n${r.stderr}`)
  const out = JSON.parse(r.stdout) as {
    waves: string[][]
    clusters: { cluster: string; wave: number; durationMs?: number }[]
  }
  const waves = out.waves.length
  const goal = 1.3 * single * waves
  const perWave = out.waves.map((w, i) => {
    const ds = out.clusters.filter((c) => c.wave === i + 1).map((c) => c.durationMs ?? 0)
    return `wave ${i + 1} (${w.length} clusters): slowest cluster ${(Math.max(...ds) / 1000).toFixed(1)}s`
  })
  const s = (ms: number) => `${(ms / 1000).toFixed(1)}s`
  console.log(
    `fleet release, ${N} clusters × 1 node, waves ${WAVES} (${out.waves.map((w) => w.length).join('+')}), --parallel 4, ${flags.join(' ')}`,
  )
  console.log(`  one cluster's release: ${singles.map(s).join(', ')} → ${s(single)}`)
  console.log(`  ${perWave.join('\n  ')}`)
  console.log(
    `  fleet: ${s(wall)} (build once + push to ${N} registries + ${waves} waves); goal ≤ 1.3 × ${s(single)} × ${waves} = ${s(goal)}: ${wall <= goal ? 'met' : 'NOT met'} (${(wall / (single * waves)).toFixed(2)}×)`,
  )
} finally {
  await fleet.stop()
}
