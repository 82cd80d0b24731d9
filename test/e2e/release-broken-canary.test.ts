import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectCluster } from '../../src/adapters/kube-cluster.js'
import type { Deployment } from '../../src/ports.js'
import { apiRequestCounts, requestsBetween } from '../helpers/api-metrics.js'
import { runCli } from '../helpers/cli.js'
import { pushSampleApp } from '../helpers/images.js'
import { type PodTimes, watchPodTimes } from '../helpers/pod-timeline.js'
import { waitFor } from '../helpers/ports.js'
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js'

interface HistoryJson {
  releases: { version: string; phase: string; reason?: string; timings?: { rollbackDoneAt?: string } }[]
}

// A canary that is broken from its first probe is named and rolled back within seconds of its
// container starting (readiness failures as evidence), and a healthy release follows the
// cluster by watches, not polls (apiserver_request_total on the sandbox's /metrics).
describe('a broken canary is named and rolled back in seconds; a healthy release is light on the API', () => {
  let sb: TestSandbox
  let work: string
  let timeline: { pods: Map<string, PodTimes>; stop(): void }
  const tag = (v: string) => `${sb.registry}/kubeapp:${v}`
  const ec = (args: string[]) => runCli(args, { env: sb.env, cwd: work, timeoutMs: 120_000 })
  const fast = ['--interval', '1s', '--iterations', '1', '--load', '10']

  beforeAll(async () => {
    sb = await startSandbox({ nodes: 2, backoffBaseMs: 500 })
    work = join(sb.home, 'work')
    mkdirSync(work)
    for (const v of ['1.0', '2.0', '3.0', '3.7']) await pushSampleApp(sb, v)
    const init = await ec(['init', '--image', tag('1.0'), '--replicas', '2'])
    expect(init.status, init.stderr).toBe(0)
    timeline = watchPodTimes(sb.kubeconfig, 'production')
  }, 300_000)
  afterAll(async () => {
    timeline?.stop()
    await sb?.stop()
  })

  it.each([
    [
      '/health answers 503',
      '3.0',
      ['--env', 'HEALTH_STATUS=503'],
      /canary \/health answered 503 on \d+ probes over [\d.]+ s/,
    ],
    [
      'nothing listens',
      '3.0',
      ['--env', 'LISTEN_AFTER_S=120'],
      /canary \/health refused the connection on \d+ probes over [\d.]+ s/,
    ],
    ['/version is another version', '3.8', [], /\/version is "3\.7", expected "3\.8"/],
  ] as const)(
    '%s: exit 1, the reason names the endpoint and the answer, soon after the container started',
    async (_n, version, extra, reason) => {
      const image = version === '3.8' ? tag('3.7') : tag(version)
      const t = Date.now()
      const r = await ec(['release', version, '--image', image, ...fast, ...extra])
      expect(r.status, r.stderr).toBe(1)
      expect(r.stderr).toMatch(reason)
      const h = JSON.parse((await ec(['history', '--json'])).stdout) as HistoryJson
      const last = h.releases.at(-1)
      expect(last).toMatchObject({ version, phase: 'RolledBack' })
      expect(last?.reason).toMatch(reason)
      // from the canary container's start (as a watching client saw it) to the rollback's end:
      // seconds, where waiting for the liveness probe's CrashLoopBackOff took ~32 s
      const canary = [...timeline.pods.values()].find((p) => p.track === 'canary' && (p.runningAt ?? 0) >= t)
      expect(canary?.runningAt, 'the canary container ran').toBeDefined()
      const ms = Date.parse(last?.timings?.rollbackDoneAt ?? '') - (canary?.runningAt ?? 0)
      expect(ms).toBeGreaterThan(0)
      expect(ms).toBeLessThan(15_000)
    },
  )

  it('an informer survives an API server restart: the broken watch is re-established and changes keep coming', async () => {
    const cluster = connectCluster({ kubeconfig: sb.kubeconfig })
    let lists = 0
    const seen: string[] = []
    const stop = cluster.inform(
      'deployments',
      'production',
      { field: 'metadata.name=kubeapp' },
      {
        onList: () => {
          lists++
        },
        onEvent: (_type, d: Deployment) => {
          const mark = d.metadata.annotations?.['test/mark']
          if (mark) seen.push(mark)
        },
      },
    )
    try {
      await waitFor('first list', async () => (lists > 0 ? true : undefined), 10_000, 50)
      await cluster.patchDeployment('production', 'kubeapp', {
        metadata: { annotations: { 'test/mark': 'before' } },
      })
      await waitFor('event before', async () => (seen.includes('before') ? true : undefined), 10_000, 50)
      const r = await ec(['sandbox', 'fault', 'api-restart'])
      expect(r.status, r.stderr).toBe(0)
      await cluster.patchDeployment('production', 'kubeapp', {
        metadata: { annotations: { 'test/mark': 'after' } },
      })
      await waitFor(
        'event after the restart',
        async () => (seen.includes('after') ? true : undefined),
        30_000,
        100,
      )
      // (whether it resumed from its resourceVersion or met 410 Gone and relisted depends on when
      // the restarted server answered; nextWatchStep's table test has both rules)
      expect(lists).toBeGreaterThanOrEqual(1)
    } finally {
      stop()
    }
  })

  it('a healthy release follows pods, Deployments and the Lease by watch: a bounded number of API requests', async () => {
    const before = await apiRequestCounts(sb.kubeconfig)
    const r = await ec([
      'release',
      '2.0',
      '--image',
      tag('2.0'),
      '--interval',
      '2s',
      '--iterations',
      '2',
      '--load',
      '10',
      '--json',
    ])
    expect(r.status, r.stderr).toBe(0)
    const byKind = requestsBetween(before, await apiRequestCounts(sb.kubeconfig))
    const total = byKind.reduce((n, x) => n + x.count, 0)
    const lists = byKind.filter((x) => x.key.startsWith('LIST ')).reduce((n, x) => n + x.count, 0)
    // polling listed the pods and read the Deployment every 50–75 ms (hundreds of requests for
    // this release); with watches only the writes, a few reads and one list per kind are left
    expect(total, JSON.stringify(byKind)).toBeLessThan(120)
    expect(lists, JSON.stringify(byKind)).toBeLessThan(12)
  })
})
