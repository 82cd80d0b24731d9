import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { connectCluster } from '../../src/adapters/kube-cluster.js'
import type { ReleaseReport } from '../../src/core/timeline.js'
import type { Cluster, Pod } from '../../src/ports.js'
import { startLoad } from '../../src/verify/traffic.js'
import { pngColours, screenshot } from '../helpers/chromium.js'
import { runCli } from '../helpers/cli.js'
import { pushSampleApp } from '../helpers/images.js'
import { startPrometheus, type TestPrometheus } from '../helpers/prometheus.js'
import { repoRoot, startSandbox, type TestSandbox } from '../helpers/sandbox.js'

const PORTS_ANNOTATION = 'sandbox.edgecanary.dev/ports'

/** Where the host reaches a pod's port 8080: its podIP, through the sandbox's port map when it keeps one. */
function podAddress(p: Pod): string | undefined {
  if (!p.status?.podIP) return undefined
  const map = p.metadata.annotations?.[PORTS_ANNOTATION]
  const port = map ? (JSON.parse(map) as Record<string, number>)['8080'] : 8080
  return port ? `${p.status.podIP}:${port}` : undefined
}

// The canary's share of 5xx answers to users (not the kubelet's /health probes), from the
// counters the sample app exposes on /metrics, as Prometheus scraped them.
const ERROR_RATE = {
  name: 'error-rate',
  query:
    '(sum(http_requests_total{app="{{app}}",namespace="{{namespace}}",track="{{track}}",path!="/health",code=~"5.."}) or on() vector(0)) / sum(http_requests_total{app="{{app}}",namespace="{{namespace}}",track="{{track}}",path!="/health"})',
  max: 0.1,
}
// every canary target answered every scrape of the last interval
const CANARY_UP = {
  name: 'canary-up',
  query: 'min(min_over_time(up{app="{{app}}",track="{{track}}"}[{{interval}}]))',
  min: 1,
}

// Issue 20: a release leaves evidence (timeline in the history, report as HTML/Markdown/JSON,
// the step summary), verify shows latency per version, and Prometheus queries judge a canary.
describe('release evidence on the sandbox', { timeout: 240_000 }, () => {
  let sb: TestSandbox
  let cluster: Cluster
  let prom: TestPrometheus
  let work: string
  let stopScrapeSync = false
  let scrapeSync: Promise<void> | undefined
  const ns = 'production'
  const tag = (v: string) => `${sb.registry}/kubeapp:${v}`
  const ec = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runCli(args, { env: { ...sb.env, ...env }, cwd: work, timeoutMs: 180_000 })

  beforeAll(async () => {
    ;[sb, prom] = await Promise.all([startSandbox({ nodes: 2, backoffBaseMs: 500 }), startPrometheus()])
    work = join(sb.home, 'work')
    mkdirSync(work)
    cluster = connectCluster({ kubeconfig: sb.kubeconfig })
    for (const v of ['1.0', '2.0', '3.0']) await pushSampleApp(sb, v)
    // the healthy release is judged by the built-in checks alone: a new canary target waits for
    // Prometheus' discovery (up to 5 s) before its first scrape, and an interval without data is
    // a failed check, which this test of the timeline would see as a failed verdict
    writeFileSync(join(work, 'edgecanary.yaml'), stringify({ app: 'kubeapp', namespace: ns }))
    writeFileSync(
      join(work, 'strict.yaml'),
      stringify({
        app: 'kubeapp',
        namespace: ns,
        analysis: { prometheus: prom.url, metrics: [ERROR_RATE, CANARY_UP], threshold: 2 },
      }),
    )
    const r = await ec(['init', '--image', tag('1.0'), '--replicas', '4'])
    expect(r.status, r.stderr).toBe(0)
    // the scrape targets follow the app's pods, as kubernetes_sd would: one per pod with an address
    scrapeSync = (async () => {
      for (let i = 0; !stopScrapeSync && i < 2000; i++) {
        const pods = await cluster.listPods(ns, 'app=kubeapp').catch(() => [] as Pod[])
        prom.setTargets(
          pods.flatMap((p) => {
            const address = podAddress(p)
            const labels = p.metadata.labels ?? {}
            return address && !p.metadata.deletionTimestamp
              ? [
                  {
                    address,
                    labels: {
                      app: labels.app ?? '',
                      track: labels.track ?? '',
                      namespace: ns,
                      pod: p.metadata.name,
                    },
                  },
                ]
              : []
          }),
        )
        await new Promise((r) => setTimeout(r, 300))
      }
    })()
  }, 300_000)

  afterAll(async () => {
    stopScrapeSync = true
    await scrapeSync
    await Promise.all([prom?.stop(), sb?.stop()])
  })

  let healthy: ReleaseReport

  it('a release records its timeline: both sides per interval, steps, gates and phases, read back by report --json', async () => {
    const r = await ec([
      'release',
      '2.0',
      '--image',
      tag('2.0'),
      '--steps',
      '25,50',
      '--interval',
      '2s',
      '--iterations',
      '2',
      '--load',
      '20',
    ])
    expect(r.status, r.stderr).toBe(0)
    const j = await ec(['report', '--json'])
    expect(j.status, j.stderr).toBe(0)
    healthy = JSON.parse(j.stdout) as ReleaseReport
    expect(healthy).toMatchObject({
      app: 'kubeapp',
      namespace: ns,
      version: '2.0',
      from: '1.0',
      phase: 'Succeeded',
    })
    expect(healthy.steps.map((s) => [s.index, s.weight, s.stable, s.canary])).toEqual([
      [0, 25, 3, 1],
      [1, 50, 2, 2],
    ])
    for (const s of healthy.steps) {
      expect(s.intervals).toHaveLength(2)
      expect(Date.parse(s.endedAt)).toBeGreaterThan(Date.parse(s.startedAt))
      for (const i of s.intervals) {
        expect(i.verdict).toBe('ok')
        // the built-in load (20/s for 2 s) reached both versions and attributed each answer
        expect(i.canary.requests).toBeGreaterThan(0)
        expect(i.stable.requests).toBeGreaterThan(0)
        expect(i.canary.requests + i.stable.requests).toBeGreaterThanOrEqual(20)
        expect(i.canary).toMatchObject({ errors: 0, successRate: 100 })
        expect(i.canary.p50Ms).toBeGreaterThan(0)
        expect(i.stable.p99Ms).toBeGreaterThanOrEqual(i.stable.p50Ms ?? 0)
      }
    }
    // the canary's share of answers follows the pod ratio: more at 2:2 than at 3:1
    const share = (s: ReleaseReport['steps'][number]) => {
      const c = s.intervals.reduce((a, i) => a + i.canary.requests, 0)
      return c / s.intervals.reduce((a, i) => a + i.canary.requests + i.stable.requests, 0)
    }
    expect(share(healthy.steps[1])).toBeGreaterThan(share(healthy.steps[0]))
    const kinds = healthy.events.map((e) => `${e.kind} ${e.text.split(':')[0]}`)
    expect(kinds).toEqual(
      expect.arrayContaining([
        'phase Progressing',
        'gate step 1',
        'gate step 2',
        'phase Promoting',
        'phase Succeeded',
      ]),
    )
    // the history keeps it: any machine can read it back
    const cm = await cluster.getConfigMap(ns, 'edgecanary-kubeapp-history')
    const stored = JSON.parse(cm?.data?.releases ?? '[]') as {
      version: string
      timeline?: { iv: unknown[] }
    }[]
    expect(stored.find((x) => x.version === '2.0')?.timeline?.iv).toHaveLength(4)
  })

  it('report renders Markdown per step and a self-contained HTML page that Chromium draws', async () => {
    const md = await ec(['report', '2.0', '--format', 'markdown'])
    expect(md.status, md.stderr).toBe(0)
    expect(md.stdout).toContain('### kubeapp 1.0 → 2.0: Succeeded')
    expect(md.stdout).toContain('#### Step 1: 3:1 (25 % canary)')
    expect(md.stdout).toContain('#### Step 2: 2:2 (50 % canary)')
    expect(md.stdout.match(/^\| \d\d:\d\d:\d\d \| ✅ ok \|/gm)).toHaveLength(4)

    const r = await ec(['report', '2.0'])
    expect(r.status, r.stderr).toBe(0)
    const file = join(work, 'edgecanary-kubeapp-2.0.html')
    expect(r.stderr).toContain(`to edgecanary-kubeapp-2.0.html`)
    const html = readFileSync(file, 'utf8')
    expect(html).not.toMatch(/<script|<link|src=|href=|url\(/i)
    expect(html.match(/<line class="step-boundary"/g)).toHaveLength(healthy.steps.length)

    const png = screenshot(file, join(work, 'report.png'))
    const { width, height, colours } = pngColours(png)
    expect(width).toBe(1000)
    expect(height).toBe(1100)
    // not blank: the page's white, the panels, the lines, the text and the green badge
    expect(colours.size).toBeGreaterThan(50)
    const white = colours.get(0xffffff) ?? 0
    expect(white).toBeLessThan(width * height * 0.95)
    expect(colours.get(0x1a7f37) ?? 0).toBeGreaterThan(100) // the Succeeded badge and ok dots
    // the README shows this picture (regenerate with EC_WRITE_SCREENSHOT=1)
    if (process.env.EC_WRITE_SCREENSHOT === '1')
      copyFileSync(join(work, 'report.png'), join(repoRoot, 'docs', 'report.png'))
  })

  it('verify gives p50/p99 per version and, in a long loop, a line per second with the shares', async () => {
    const j = await ec(['verify', '--requests', '40', '--rate', '40', '--json'])
    expect(j.status, j.stderr).toBe(0)
    const v = JSON.parse(j.stdout) as {
      versions: Record<string, { count: number; share: number; errors: number; p50Ms: number; p99Ms: number }>
    }
    expect(Object.keys(v.versions)).toEqual(['2.0'])
    expect(v.versions['2.0']).toMatchObject({ count: 40, share: 100, errors: 0 })
    expect(v.versions['2.0'].p99Ms).toBeGreaterThanOrEqual(v.versions['2.0'].p50Ms)
    const long = await ec(['verify', '--requests', '70', '--rate', '20'])
    expect(long.status, long.stderr).toBe(0)
    const perSecond = long.stdout
      .split('\n')
      .filter((l) => /^\d\d:\d\d:\d\d {2}2\.0 100\.0% {2}\(\d+ req, 0 err\)$/.test(l))
    expect(perSecond.length).toBeGreaterThanOrEqual(3)
    expect(long.stdout).toMatch(/^2\.0 +█+ +70 +100\.0% {2}p50 [\d.]+ ms {2}p99 [\d.]+ ms$/m)
  })

  it('a Prometheus query catches FAIL_RATE=0.5 that users send through the Service; the rollback names the metric; the step summary gets the report', async () => {
    // users' traffic, not the built-in load (--load 0): the canary's 5xx to users are seen only
    // in the scraped counters (the engine's own /version asks fail half the time too, and when
    // both fail in one interval the reason names both)
    const svc = await cluster.getService(ns, 'kubeapp')
    const ingress = svc?.status?.loadBalancer?.ingress?.[0] as
      | { ip?: string; ports?: { port: number }[] }
      | undefined
    const url = `http://${ingress?.ip}:${ingress?.ports?.[0]?.port}/`
    const users = startLoad({ url, rate: 20, onResult: () => {} })
    const summary = join(work, 'step-summary.md')
    writeFileSync(summary, '# CI\n')
    let r: Awaited<ReturnType<typeof ec>>
    try {
      r = await ec(
        [
          'release',
          '3.0',
          '--image',
          tag('3.0'),
          '--config',
          'strict.yaml',
          '--steps',
          '50',
          '--interval',
          '4s',
          '--iterations',
          '3',
          '--load',
          '0',
          '--env',
          'FAIL_RATE=0.5',
        ],
        { GITHUB_STEP_SUMMARY: summary },
      )
    } finally {
      await users.stop()
    }
    expect(r.status, r.stderr).toBe(1)
    expect(r.stderr).toMatch(/rolled back: .*metric error-rate/)
    const j = JSON.parse((await ec(['report', '3.0', '--format', 'json'])).stdout) as ReleaseReport
    expect(j).toMatchObject({ version: '3.0', from: '2.0', phase: 'RolledBack' })
    expect(j.reason).toMatch(/metric error-rate/)
    // the failing value was seen: the canary answered about half of its requests with 500
    expect(
      j.events.some(
        (e) => e.kind === 'metric' && /^metric error-rate = 0\.[3-7]\d*, above its max 0\.1$/.test(e.text),
      ),
    ).toBe(true)
    expect(j.steps[0].intervals.some((i) => i.verdict === 'failed')).toBe(true)
    expect((await cluster.getDeployment(ns, 'kubeapp'))?.spec.template.spec.containers[0].image).toContain(
      ':2.0@sha256:',
    )
    const md = readFileSync(summary, 'utf8')
    expect(md.startsWith('# CI\n### kubeapp 2.0 → 3.0: RolledBack')).toBe(true)
    expect(md).toContain('metric error-rate')
  })
  it('the Grafana dashboard’s queries run on Prometheus and show canary against stable', async () => {
    const dash = JSON.parse(
      readFileSync(join(repoRoot, 'templates', 'grafana', 'edgecanary.json'), 'utf8'),
    ) as {
      panels: { title: string; targets: { expr: string }[] }[]
      templating: { list: { name: string }[] }
    }
    expect(dash.templating.list.map((v) => v.name)).toEqual(['datasource', 'namespace', 'app'])
    const fill = (e: string) =>
      e.replaceAll('$app', 'kubeapp').replaceAll('$namespace', ns).replaceAll('$__rate_interval', '1m')
    const tracks: Record<string, string[]> = {}
    for (const p of dash.panels)
      for (const t of p.targets) {
        const r = (await prom.query(fill(t.expr))) as {
          status: string
          data: { result: { metric: Record<string, string> }[] }
        }
        expect(r.status, `${p.title}: ${t.expr}`).toBe('success')
        tracks[p.title] = r.data.result.map((x) => x.metric.track ?? x.metric.version).sort()
      }
    // the FAIL_RATE release just now: both tracks answered, and the canary answered 5xx
    expect(tracks['Success rate: canary against stable']).toEqual(['canary', 'stable'])
    expect(tracks['p99 latency: canary against stable']).toEqual(['canary', 'stable'])
    expect(tracks['5xx per second by track']).toContain('canary')
    expect(tracks['Requests per second by version']).toEqual(expect.arrayContaining(['2.0', '3.0']))
  })
})
