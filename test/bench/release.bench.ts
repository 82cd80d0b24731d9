// npm run bench:release — on the sandbox, 4 pods, interval 2 s:
//  - control overhead of a 3-step release beyond the configured analysis waits;
//  - API requests per healthy release by verb and resource (apiserver_request_total on the
//    sandbox's /metrics, pod-proxy probes left out) and the rate, beside the ≤ 1 request/s goal,
//    at the bench's 2 s intervals and at the default analysis (10 s × 3);
//  - canary container started → rollback complete for a canary whose /health answers 503, one
//    that refuses connections and one with a wrong /version (goal ≤ 5 s), and first failure
//    seen → rollback complete for a health failure, a fast-fail and FAIL_RATE=0.5;
//  - failed user requests at 20 rps in the healthy release and in each rollback;
//  - split accuracy at 3:1 measured by verify over 2000 requests (a release paused at step 1).
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { apiRequestCounts, requestsBetween } from '../helpers/api-metrics.js'
import { runCli } from '../helpers/cli.js'
import { pushSampleApp } from '../helpers/images.js'
import { kubeletWait, watchPodTimes } from '../helpers/pod-timeline.js'
import { waitFor } from '../helpers/ports.js'
import { repoRoot, startSandbox } from '../helpers/sandbox.js'

/**
 * The request budget's verdict, said plainly: a release's writes (each step's scale and gate
 * writes, each phase's state write and Event, the Lease) are about fixed per release, so the
 * rate depends on how long the analysis makes a release last.
 */
const budgetVerdict = (rate: number) =>
  rate <= 1
    ? 'met'
    : 'NOT met at these settings: the writes of the steps and phases are fixed per release, so a release this short averages more'

interface Report {
  errorCount: number
  requests: number
  versions: Record<string, { share: number }>
}

// RUNS: how many healthy releases (below); read before the sandbox starts
const runs = Number(process.env.RUNS ?? 15)
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`RUNS=${process.env.RUNS}: a whole number ≥ 1, e.g. RUNS=5`)
const sb = await startSandbox({ nodes: 4, backoffBaseMs: 1000 })
const work = join(sb.home, 'work')
mkdirSync(work)
const ec = (args: string[]) => runCli(args, { env: sb.env, cwd: work, timeoutMs: 300_000 })
const json = <T>(r: { stdout: string }) => JSON.parse(r.stdout) as T
try {
  const init = await ec(['init', '--version', '1.0', '--source', join(repoRoot, 'sample-app')])
  if (init.status !== 0) throw new Error(init.stderr)
  // The kubelet's relist (1 s) decides when a started pod is probed, so pod starts vary by up to
  // a second from run to run: the healthy release runs 15 times (2.0 … 2.0.14; RUNS=n for a
  // quick look), each figure is printed, and the median is the one held against the goal. Each run
  // waits a uniform 0–1 s for the relist, so the median of n runs has a standard error of about
  // 1/(2√n) s: 0.17 s for 9 runs, 0.13 s for 15. Each run starts after a random
  // 0–1 s pause: runs one after another are spaced almost alike, so without it they met the
  // relist at nearly the same phase, and a whole bench came out lucky or unlucky together.
  const healthy = ['2.0', ...Array.from({ length: runs - 1 }, (_, i) => `2.0.${i + 1}`)]
  for (const v of healthy) await ec(['build', '--version', v, '--source', join(repoRoot, 'sample-app')])
  const waits = 3 * 2 * 2000
  const overheads: number[] = []
  const engine: number[] = []
  const podStarts: number[] = []
  const kubeletWaves: number[][] = []
  let failedUsers = 0
  let userRequests = 0
  const budgets: { total: number; seconds: number; byKind: { key: string; count: number }[] }[] = []
  // the pods as a watching client sees them: when each container ran and turned ContainersReady
  const timeline = watchPodTimes(sb.kubeconfig, 'production')
  for (const v of healthy) {
    // the users' verify is running before the release starts (as in another terminal), so the
    // two CLIs do not start on this 2-core machine's cores at the same instant; 380 requests at
    // 20/s cover the whole release
    const users = ec(['verify', '--requests', '380', '--rate', '20', '--json'])
    await new Promise((r) => setTimeout(r, 1000 + Math.random() * 1000))
    const before = await apiRequestCounts(sb.kubeconfig)
    const t = performance.now()
    const r = await ec(['release', v, '--interval', '2s', '--iterations', '2', '--load', '20', '--json'])
    const wall = performance.now() - t
    const byKind = requestsBetween(before, await apiRequestCounts(sb.kubeconfig))
    budgets.push({ total: byKind.reduce((n, x) => n + x.count, 0), seconds: wall / 1000, byKind })
    if (r.status !== 0) throw new Error(r.stderr)
    overheads.push(wall - waits)
    // the two waves of new pods a release waits for: the first canary pod (the later steps'
    // pods start during the analysis before them) and the promotion's new stable pods
    const created = [...timeline.pods.values()].filter((p) => p.added >= t).sort((a, b) => a.added - b.added)
    const firstCanary = created.filter((p) => p.track === 'canary').slice(0, 1)
    const promotion = created.filter((p) => p.track === 'stable')
    kubeletWaves.push([kubeletWait(firstCanary) ?? Number.NaN, kubeletWait(promotion) ?? Number.NaN])
    const out = json<{ durationMs: number; podStartMs: number }>(r)
    engine.push(out.durationMs - waits)
    podStarts.push(out.podStartMs)
    const u = json<Report>(await users)
    failedUsers += u.errorCount
    userRequests += u.requests
  }
  const s = (ms: number) => (ms / 1000).toFixed(2)
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const median = mid(overheads)
  const mean = overheads.reduce((a, b) => a + b, 0) / overheads.length
  console.log(
    `healthy 3-step release (interval 2 s × 2 per step, 12 s of configured waits), wall − waits per run: ${overheads.map(s).join(' s, ')} s; median ${s(median)} s, mean ${s(mean)} s, ${overheads.filter((o) => o > 2000).length} of ${overheads.length} runs above 2 s   goal ≤ 2 s`,
  )
  console.log(
    `  of which before the engine starts (node and oclif start, config, build check, preflight): ${overheads.map((o, i) => s(o - engine[i])).join(' s, ')} s; in the engine (lock → promoted): ${engine.map(s).join(' s, ')} s`,
  )
  console.log(
    `  of the engine's, waiting for new pods to start and pass readiness (the kubelet: 1 s relist, 1 s probe period): ${podStarts.map(s).join(' s, ')} s; so edgecanary's own time (CLI, checks, gates, writes, polls): ${overheads.map((o, i) => s(o - podStarts[i])).join(' s, ')} s`,
  )
  const kubelet = kubeletWaves.map(([first, promotion]) => first + promotion)
  const rest = overheads.map((o, i) => o - kubelet[i])
  console.log(
    `  of the overhead, the kubelet's own wait in those two waves of new pods (from the last container running to the last pod ContainersReady, first canary pod + promotion: its PLEG relist, every 1 s, then the readiness probe): ${kubelet.map((k, i) => `${s(k)} s (${kubeletWaves[i].map(s).join(' + ')})`).join(', ')}, median ${s(mid(kubelet))} s; the rest (edgecanary, the API server and controllers, pulls and process starts): ${rest.map(s).join(' s, ')} s, median ${s(mid(rest))} s`,
  )
  console.log(
    `failed user requests at 20 rps during the healthy releases: ${failedUsers} of ${userRequests}   goal 0`,
  )
  const rates = budgets.map((b) => b.total / b.seconds)
  const typical = budgets.find((b) => b.total === mid(budgets.map((x) => x.total))) ?? budgets[0]
  console.log(
    `API requests per healthy release at the bench's short analysis, 2 s × 2 per step (outside pods/proxy, the analysis's own probes): ${budgets.map((b) => b.total).join(', ')} in ${budgets.map((b) => b.seconds.toFixed(0)).join(', ')} s; rate ${rates.map((x) => x.toFixed(2)).join(', ')} req/s, median ${mid(rates).toFixed(2)} req/s   goal ≤ 1 req/s (averaged over a release): ${budgetVerdict(mid(rates))}`,
  )
  console.log(
    `  one of them by verb and resource: ${typical.byKind.map((x) => `${x.key} ${x.count}`).join(', ')}`,
  )
  {
    // the default analysis (10 s × 3 per step): what a release on a Pi looks like
    const v = '2.1.0'
    await ec(['build', '--version', v, '--source', join(repoRoot, 'sample-app')])
    const before = await apiRequestCounts(sb.kubeconfig)
    const t = performance.now()
    const r = await ec(['release', v, '--load', '10', '--json'])
    const seconds = (performance.now() - t) / 1000
    if (r.status !== 0) throw new Error(r.stderr)
    const byKind = requestsBetween(before, await apiRequestCounts(sb.kubeconfig))
    const total = byKind.reduce((n, x) => n + x.count, 0)
    console.log(
      `API requests of a healthy release at the default analysis, 10 s × 3 per step (outside pods/proxy, ${seconds.toFixed(0)} s): ${total}, ${(total / seconds).toFixed(2)} req/s   goal ≤ 1 req/s (averaged over a release): ${budgetVerdict(total / seconds)}; by verb and resource: ${byKind.map((x) => `${x.key} ${x.count}`).join(', ')}`,
    )
  }

  // a canary broken from its first probe: from its container's start (as a watching client
  // saw it) to the rollback's end, as the engine recorded it in the history
  await pushSampleApp(sb, '4.7')
  for (const [label, version, args] of [
    ['/health answers 503 (HEALTH_STATUS=503)', '4.1', ['--env', 'HEALTH_STATUS=503']],
    ['connection refused (LISTEN_AFTER_S=120)', '4.2', ['--env', 'LISTEN_AFTER_S=120']],
    ['wrong /version (image 4.7 released as 4.8)', '4.8', ['--image', `${sb.registry}/kubeapp:4.7`]],
  ] as const) {
    if (version !== '4.8') await ec(['build', '--version', version, '--source', join(repoRoot, 'sample-app')])
    const t = Date.now()
    const rr = await ec([
      'release',
      version,
      '--interval',
      '2s',
      '--iterations',
      '2',
      '--load',
      '20',
      ...args,
    ])
    const last = json<{
      releases: { timings?: { rollbackDoneAt?: string }; reason?: string }[]
    }>(await runCli(['history', '--json'], { env: sb.env, cwd: work })).releases.at(-1)
    const started = [...timeline.pods.values()]
      .filter((p) => p.track === 'canary' && (p.runningAt ?? 0) >= t)
      .map((p) => p.runningAt ?? 0)
    const ms = Date.parse(last?.timings?.rollbackDoneAt ?? '') - Math.min(...started)
    console.log(
      `${label}: exit ${rr.status}; canary container started → rollback complete ${(ms / 1000).toFixed(2)} s   goal ≤ 5 s; reason: ${last?.reason}`,
    )
  }

  for (const [label, env] of [
    ['health failure (HEALTH_STATUS=500)', 'HEALTH_STATUS=500'],
    ['fast-fail (CRASH_AFTER_S=1)', 'CRASH_AFTER_S=1'],
    ['success rate (FAIL_RATE=0.5)', 'FAIL_RATE=0.5'],
  ] as const) {
    const users2 = ec(['verify', '--requests', '300', '--rate', '20', '--json'])
    const rr = await ec([
      'release',
      `2.${label.length}`,
      '--interval',
      '2s',
      '--iterations',
      '2',
      '--load',
      '20',
      '--env',
      env,
    ])
    const st = await runCli(['history', '--json'], { env: sb.env, cwd: work })
    const last = json<{
      releases: { timings?: { failureSeenAt?: string; rollbackDoneAt?: string }; reason?: string }[]
    }>(st).releases.at(-1)
    const u2 = json<Report>(await users2)
    const seen = Date.parse(last?.timings?.failureSeenAt ?? '')
    const done = Date.parse(last?.timings?.rollbackDoneAt ?? '')
    console.log(
      `${label}: exit ${rr.status}; first failure seen → rollback complete ${((done - seen) / 1000).toFixed(2)} s (goal ≤ 3 s); failed user requests ${u2.errorCount} of ${u2.requests}; reason: ${last?.reason}`,
    )
  }

  const paused = ec([
    'release',
    '3.0',
    '--steps',
    '25,50',
    '--pause',
    '--interval',
    '1s',
    '--iterations',
    '1',
    '--load',
    '0',
  ])
  await waitFor(
    'paused at 3:1',
    async () =>
      json<{ phase: string }>(await runCli(['status', '--json'], { env: sb.env, cwd: work })).phase ===
      'Paused'
        ? true
        : undefined,
    120_000,
    250,
  )
  const split = json<Report>(await ec(['verify', '--requests', '2000', '--rate', '400', '--json']))
  const share = split.versions['3.0']?.share ?? 0
  console.log(
    `split accuracy at 3:1 over 2000 fresh connections: canary ${share}% (expected 25%, off by ${Math.abs(share - 25).toFixed(1)} points; goal ±3)`,
  )
  await ec(['abort'])
  await paused
  timeline.stop()
} finally {
  await sb.stop()
}
