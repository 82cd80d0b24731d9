import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stripVTControlCharacters } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { connectCluster } from '../../src/adapters/kube-cluster.js'
import type { Cluster } from '../../src/ports.js'
import { acquireLock } from '../../src/release/lock.js'
import { readHistory, readState, versionOfImage } from '../../src/release/state.js'
import { runCli } from '../helpers/cli.js'
import { startFleet, type TestFleet } from '../helpers/fleet.js'
import { waitFor } from '../helpers/ports.js'
import { runInPty } from '../helpers/pty.js'
import { cliEntry } from '../helpers/sandbox.js'

interface FleetJson {
  phase: string
  version: string
  digest?: string
  resumed: boolean
  waves: string[][]
  skipped: { cluster: string; reason: string }[]
  clusters: {
    cluster: string
    wave: number
    outcome: string
    phase?: string
    image?: string
    resumed?: boolean
  }[]
}

const NAMES = ['fleet-a', 'fleet-b', 'fleet-c'] as const
const GONE = 'fleet-gone'
const ns = 'production'
const app = 'kubeapp'

// Three sandboxes (one node each), their contexts merged into one kubeconfig under distinct
// names, plus a context whose API port has nothing listening: the fleet of issue 21.
describe('edgecanary release --contexts (a fleet of sandboxes)', () => {
  let fleet: TestFleet
  const clusters: Record<string, Cluster> = {}
  let home: string
  let work: string
  let env: NodeJS.ProcessEnv
  const fast = ['--steps', '50', '--interval', '1s', '--iterations', '1', '--load', '20']
  const ec = (args: string[], timeoutMs = 180_000) => runCli(args, { env, cwd: work, timeoutMs })

  /** The stable Deployment's version, its release state and history in one cluster. */
  const look = async (c: string) => {
    const cl = clusters[c]
    const [stable, canary, pods, history] = await Promise.all([
      cl.getDeployment(ns, app),
      cl.getDeployment(ns, `${app}-canary`),
      cl.listPods(ns, `app=${app},track=canary`),
      readHistory(cl, ns, app),
    ])
    const image = stable?.spec.template.spec.containers[0]?.image ?? ''
    return {
      image,
      version: versionOfImage(image),
      state: readState(stable),
      canaryReplicas: canary?.spec.replicas ?? 0,
      canaryPods: pods.filter((p) => !p.metadata.deletionTimestamp).length,
      history,
      resourceVersion: stable?.metadata.resourceVersion,
    }
  }

  beforeAll(async () => {
    fleet = await startFleet({ n: 3, prefix: 'fleet', names: [...NAMES], unreachable: true })
    ;({ home, work, env } = fleet)
    for (const n of NAMES) clusters[n] = connectCluster({ kubeconfig: fleet.kubeconfig, context: n })
  }, 180_000)

  afterAll(async () => {
    await fleet?.stop()
  })

  it('an unreachable cluster is named, exit 2, nothing changed anywhere (bad flags and --dry-run neither)', async () => {
    const before = await Promise.all(NAMES.map(look))
    writeFileSync(
      join(work, 'fleet.yaml'),
      stringify({ app, replicas: 2, fleet: [{ context: 'fleet-c' }, { context: 'fleet-a', namespace: ns }] }),
    )
    // independent runs, side by side: the unreachable fleet, a bad flag, two dry runs
    const [r, bad, dry, fromConfig] = await Promise.all([
      ec(['release', '2.0', '--contexts', [...NAMES, GONE].join(','), ...fast]),
      ec(['release', '2.0', '--contexts', NAMES.join(','), '--waves', '50%,10%']),
      ec(['release', '2.0', '--contexts', NAMES.join(','), '--waves', '1,50%', '--dry-run', '--json']),
      // fleet: in edgecanary.yaml names the clusters (in wave order) when --contexts does not
      ec(['release', '2.0', '--config', 'fleet.yaml', '--dry-run', '--json']),
    ])
    expect(r.status, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/Error: unreachable: fleet-gone/)
    // named at once (a refused connection, tried twice), not after the adapter's ~5 s of retries
    expect(r.stderr).toMatch(/^fleet +\| \[ *[0-4]\.\d+s\] ✖ preflight 4 clusters/m)
    expect(r.stderr).toContain('--skip-unreachable')
    // a bad flag: one line, exit 2, before any cluster is asked (the others: src/core/fleet-plan.test.ts)
    expect(bad.status, bad.stderr).toBe(2)
    expect(bad.stderr).toMatch(/^Error: waves "50%,10%" must ascend/m)
    // --dry-run prints the waves and changes nothing
    expect(dry.status, dry.stderr).toBe(0)
    expect(JSON.parse(dry.stdout)).toMatchObject({
      waves: [['fleet-a'], ['fleet-b'], ['fleet-c']],
      parallel: 4,
    })
    expect(fromConfig.status, fromConfig.stderr).toBe(0)
    expect(JSON.parse(fromConfig.stdout)).toMatchObject({
      waves: [['fleet-c'], ['fleet-a']],
      clusters: [
        { context: 'fleet-c', namespace: ns },
        { context: 'fleet-a', namespace: ns },
      ],
    })
    const after = await Promise.all(NAMES.map(look))
    for (const [i, a] of after.entries()) {
      expect(a.resourceVersion).toBe(before[i].resourceVersion)
      expect(a.version).toBe('1.0')
      expect(await clusters[NAMES[i]].getConfigMap(ns, `edgecanary-${app}-fleet`)).toBeUndefined()
    }
  })

  it('another release holds the lock of one cluster: preflight names it, exit 3 as for one cluster, nothing changed anywhere', async () => {
    const before = await Promise.all(NAMES.map(look))
    // a live holder on another machine: only its lease's expiry would free it
    const held = await acquireLock(clusters['fleet-b'], ns, app, 60, { identity: 'edgecanary@elsewhere:42' })
    try {
      const [r, j] = await Promise.all([
        ec(['release', '2.0', '--contexts', NAMES.join(','), ...fast]),
        ec(['release', '2.0', '--contexts', NAMES.join(','), ...fast, '--json']),
      ])
      expect(r.status, r.stderr).toBe(3)
      expect(r.stderr).toMatch(
        /^Error: another release holds the lock of kubeapp in fleet-b \(held by edgecanary@elsewhere:42\); nothing was changed in any cluster$/m,
      )
      expect(r.stderr).toContain('edgecanary abort --context fleet-b')
      expect(j.status, j.stderr).toBe(3)
      expect(JSON.parse(j.stdout)).toMatchObject({
        error: { code: 'LOCK_HELD', locked: [{ context: 'fleet-b', holder: 'edgecanary@elsewhere:42' }] },
      })
    } finally {
      await held.release()
    }
    const after = await Promise.all(NAMES.map(look))
    for (const [i, a] of after.entries()) {
      expect(a.resourceVersion).toBe(before[i].resourceVersion)
      expect(await clusters[NAMES[i]].getConfigMap(ns, `edgecanary-${app}-fleet`)).toBeUndefined()
    }
  })

  it('happy fleet with --skip-unreachable: one cluster, then the rest; the same digest everywhere; status shows the fleet', async () => {
    const r = await ec([
      'release',
      '2.0',
      '--contexts',
      [...NAMES, GONE].join(','),
      '--skip-unreachable',
      ...fast,
      '--json',
    ])
    expect(r.status, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as FleetJson
    expect(out).toMatchObject({ phase: 'Succeeded', version: '2.0', resumed: false })
    expect(out.waves).toEqual([['fleet-a'], ['fleet-b', 'fleet-c', GONE]])
    expect(out.skipped.map((s) => s.cluster)).toEqual([GONE])
    expect(out.clusters.map((c) => `${c.cluster}:${c.outcome}`)).toEqual([
      'fleet-a:done',
      'fleet-b:done',
      'fleet-c:done',
      `${GONE}:skipped`,
    ])
    const now = await Promise.all(NAMES.map(look))
    const digests = new Set(now.map((x) => x.image.split('@')[1]))
    expect(digests.size).toBe(1)
    expect([...digests][0]).toBe(out.digest)
    for (const [i, x] of now.entries()) {
      expect(x.version).toBe('2.0')
      // pushed to each cluster's own registry
      expect(x.image.startsWith(`${fleet.sandboxes[i].registry}/kubeapp:2.0@sha256:`)).toBe(true)
      expect(x.state?.phase).toBe('Succeeded')
    }
    // the second wave started only after the first cluster's release had succeeded
    const aDone = Date.parse(now[0].history.at(-1)?.updatedAt ?? '')
    for (const x of now.slice(1)) expect(Date.parse(x.state?.startedAt ?? '')).toBeGreaterThanOrEqual(aDone)
    // inside the second wave, b and c ran at the same time (--parallel defaults to 4)
    const [b, c] = now.slice(1).map((x) => ({
      start: Date.parse(x.state?.startedAt ?? ''),
      end: Date.parse(x.history.at(-1)?.updatedAt ?? ''),
    }))
    expect(b.start).toBeLessThan(c.end)
    expect(c.start).toBeLessThan(b.end)
    // the fleet record, in each cluster and locally
    const cm = await clusters['fleet-b'].getConfigMap(ns, `edgecanary-${app}-fleet`)
    expect(JSON.parse(cm?.data?.fleet ?? '{}')).toMatchObject({
      version: '2.0',
      phase: 'Succeeded',
      entry: { outcome: 'done' },
    })
    expect(JSON.parse(readFileSync(join(home, 'fleets', `${app}.json`), 'utf8'))).toMatchObject({
      phase: 'Succeeded',
      clusters: { 'fleet-a': { outcome: 'done' }, [GONE]: { outcome: 'skipped' } },
    })
    const st = await ec(['status', '--contexts', NAMES.join(',')])
    expect(st.status, st.stderr).toBe(0)
    expect(st.stdout).toContain('fleet release kubeapp 2.0: Succeeded')
    expect(st.stdout).toMatch(/fleet-b\s+done\s+Succeeded\s+\S*\s*2\.0/)
  }, 150_000)

  it('a bad release stops in the first wave: the others untouched (no canary, old version, nothing in their history)', async () => {
    const before = await Promise.all(NAMES.map(look))
    const r = await ec(['release', '3.0', '--contexts', NAMES.join(','), ...fast, '--env', 'FAIL_RATE=1'])
    expect(r.status, r.stderr).toBe(1)
    expect(r.stderr).toMatch(/stopped in wave 1: fleet-a: release 3\.0 rolled back/)
    // the per-cluster table
    expect(r.stderr).toMatch(/fleet-a\s+1\s+rolled back/)
    expect(r.stderr).toMatch(/fleet-b\s+2\s+untouched/)
    // without a terminal, each cluster's progress lines carry its name
    expect(r.stderr).toMatch(/^fleet-a +\| \[ *[\d.]+s\] /m)
    expect(r.stderr).not.toMatch(/^fleet-b +\| /m)
    const a = await look('fleet-a')
    expect(a.state).toMatchObject({ version: '3.0', phase: 'RolledBack' })
    expect(a.version).toBe('2.0')
    for (const [i, c] of ['fleet-b', 'fleet-c'].entries()) {
      const x = await look(c)
      expect(x.version).toBe('2.0')
      expect(x.state).toMatchObject({ version: '2.0', phase: 'Succeeded' })
      expect(x.canaryReplicas).toBe(0)
      expect(x.canaryPods).toBe(0)
      expect(x.history.map((h) => h.version)).toEqual(before[i + 1].history.map((h) => h.version))
      expect(x.resourceVersion).toBe(before[i + 1].resourceVersion)
    }
  }, 120_000)

  it('SIGKILL during the second wave, then the same command resumes: the first cluster is not released again', async () => {
    const args = [
      'release',
      '4.0',
      '--contexts',
      NAMES.join(','),
      '--parallel',
      '2',
      ...fast.slice(0, 2),
      '--interval',
      '2s',
      '--iterations',
      '2',
      '--load',
      '20',
    ]
    const child = spawn(process.execPath, [cliEntry, ...args], { env, cwd: work, stdio: 'ignore' })
    const killed = new Promise<void>((resolve) => child.on('exit', () => resolve()))
    try {
      await waitFor(
        'a canary of 4.0 in the second wave',
        async () => {
          for (const c of ['fleet-b', 'fleet-c']) {
            const s = readState(await clusters[c].getDeployment(ns, app))
            if (s?.version === '4.0' && s.step >= 0 && s.phase === 'Progressing') return true
          }
          return undefined
        },
        90_000,
        200,
      )
    } finally {
      if (child.pid) process.kill(child.pid, 'SIGKILL')
    }
    await killed
    expect((await look('fleet-a')).state).toMatchObject({ version: '4.0', phase: 'Succeeded' })
    const st = await ec(['status', '--contexts', NAMES.join(','), '--json'])
    expect(st.status, st.stderr).toBe(0)
    const rows = JSON.parse(st.stdout) as {
      fleet: { phase: string }
      clusters: { cluster: string; fleet: string }[]
    }
    expect(rows.fleet.phase).toBe('Progressing')
    expect(rows.clusters.find((c) => c.cluster === 'fleet-a')?.fleet).toBe('done')
    expect(rows.clusters.filter((c) => c.fleet === 'running').length).toBeGreaterThan(0)

    const again = await ec([...args, '--json'])
    expect(again.status, again.stderr).toBe(0)
    const out = JSON.parse(again.stdout) as FleetJson
    expect(out).toMatchObject({ phase: 'Succeeded', resumed: true })
    expect(out.clusters.some((c) => c.resumed)).toBe(true)
    for (const c of NAMES) {
      const x = await look(c)
      expect(x.state).toMatchObject({ version: '4.0', phase: 'Succeeded' })
      // one 4.0 release in each cluster's history: nothing released twice
      expect(x.history.filter((h) => h.version === '4.0').length).toBe(1)
    }
  }, 150_000)

  it('abort --contexts stops a running fleet: the release under way rolls back, no further wave', async () => {
    const child = runCli(
      [
        'release',
        '5.0',
        '--contexts',
        NAMES.join(','),
        '--steps',
        '50',
        '--interval',
        '2s',
        '--iterations',
        '8',
        '--load',
        '20',
      ],
      { env, cwd: work, timeoutMs: 120_000 },
    )
    await waitFor(
      'the first wave under way',
      async () => {
        const s = readState(await clusters['fleet-a'].getDeployment(ns, app))
        return s?.version === '5.0' && s.step >= 0 && s.phase === 'Progressing' ? true : undefined
      },
      60_000,
      200,
    )
    const ab = await ec(['abort', '--contexts', NAMES.join(','), '--json'])
    expect(ab.status, ab.stderr).toBe(0)
    expect(JSON.parse(ab.stdout)).toMatchObject({
      clusters: [
        { cluster: 'fleet-a', action: 'asked the running release to abort' },
        { action: 'will not start' },
        { action: 'will not start' },
      ],
    })
    const r = await child
    expect(r.status, r.stderr).toBe(1)
    expect(r.stderr).toMatch(/fleet-a\s+1\s+aborted/)
    expect((await look('fleet-a')).state).toMatchObject({ version: '5.0', phase: 'Aborted' })
    for (const c of ['fleet-b', 'fleet-c'])
      expect((await look(c)).state).toMatchObject({ version: '4.0', phase: 'Succeeded' })
  }, 120_000)

  it('--on-failure abort-wave (the default): a rollback aborts the rest of its wave; past --parallel, the rest never starts', async () => {
    // fleet-b's pods (and so its canary's, built from them) fail every request
    const k = await new Promise<number>((resolve) => {
      const p = spawn(
        'kubectl',
        ['--context', 'fleet-b', 'set', 'env', `deployment/${app}`, '-n', ns, 'FAIL_RATE=1'],
        {
          env,
          stdio: 'ignore',
        },
      )
      p.on('exit', (code) => resolve(code ?? 1))
    })
    expect(k).toBe(0)
    await waitFor(
      'fleet-b rolled out with FAIL_RATE=1',
      async () => {
        const d = await clusters['fleet-b'].getDeployment(ns, app)
        return d?.status?.updatedReplicas === 2 && d.status.readyReplicas === 2 && d.status.replicas === 2
          ? true
          : undefined
      },
      60_000,
      200,
    )
    const r = await ec([
      'release',
      '6.0',
      '--contexts',
      NAMES.join(','),
      '--waves',
      '100%',
      '--parallel',
      '2',
      '--steps',
      '50',
      '--interval',
      '2s',
      '--iterations',
      '6',
      '--load',
      '20',
      '--json',
    ])
    expect(r.status, r.stderr).toBe(1)
    const fleetOut = (JSON.parse(r.stdout) as { error: { fleet: FleetJson } }).error.fleet
    expect(fleetOut.clusters.map((c) => `${c.cluster}:${c.outcome}`)).toEqual([
      'fleet-a:aborted',
      'fleet-b:failed',
      'fleet-c:untouched',
    ])
    for (const c of ['fleet-a', 'fleet-b']) {
      const x = await look(c)
      expect(x.state?.version).toBe('6.0')
      expect(x.state?.phase).toBe(c === 'fleet-b' ? 'RolledBack' : 'Aborted')
      expect(x.version).not.toBe('6.0')
    }
    // the third cluster of the wave waited for a free slot, and never got one
    expect((await look('fleet-c')).state).toMatchObject({ version: '4.0', phase: 'Succeeded' })
  }, 120_000)

  it('--on-failure finish-wave: the healthy cluster of the failing wave is promoted, no further wave starts; each lane prefixed with its cluster', async () => {
    // fleet-b still fails every request (FAIL_RATE=1 since the test above)
    const r = await ec([
      'release',
      '7.0',
      '--contexts',
      NAMES.join(','),
      '--waves',
      '2,100%',
      '--parallel',
      '2',
      '--on-failure',
      'finish-wave',
      '--steps',
      '50',
      '--interval',
      '1s',
      '--iterations',
      '5',
      '--load',
      '20',
    ])
    expect(r.status, r.stderr).toBe(1)
    expect(r.stderr).toMatch(/stopped in wave 1: fleet-b: .*; no further wave was started/)
    // the per-cluster table
    expect(r.stderr).toMatch(/^fleet-a\s+1\s+done\s*$/m)
    expect(r.stderr).toMatch(/^fleet-b\s+1\s+rolled back\s+\S/m)
    expect(r.stderr).toMatch(/^fleet-c\s+2\s+untouched\s*$/m)
    // outside a terminal, each cluster's lines carry its name; fleet-c never ran
    expect(r.stderr).toMatch(/^fleet-a +\| \[ *[\d.]+s\] ✔ /m)
    expect(r.stderr).toMatch(/^fleet-b +\| \[ *[\d.]+s\] /m)
    expect(r.stderr).not.toMatch(/^fleet-c +\| /m)
    const [a, b, c] = await Promise.all(NAMES.map(look))
    expect(a.version).toBe('7.0')
    expect(a.state).toMatchObject({ version: '7.0', phase: 'Succeeded' })
    expect(b.state).toMatchObject({ version: '7.0', phase: 'RolledBack' })
    expect(b.version).not.toBe('7.0')
    // fleet-a was still running when fleet-b rolled back, and was not aborted (abort-wave above was)
    const bEnded = Date.parse(b.history.at(-1)?.updatedAt ?? '')
    expect(b.history.at(-1)?.version).toBe('7.0')
    expect(Date.parse(a.history.at(-1)?.updatedAt ?? '')).toBeGreaterThan(bEnded)
    expect(c.state).toMatchObject({ version: '4.0', phase: 'Succeeded' })
    expect(c.canaryReplicas).toBe(0)
  }, 120_000)

  it('in a terminal: one lane per cluster, with its name and how it ended', async () => {
    // the user's terminal: a real pseudo-terminal, no CI
    const run = runInPty(
      [
        process.execPath,
        cliEntry,
        'release',
        '8.0',
        '--contexts',
        NAMES.join(','),
        '--waves',
        '100%',
        '--on-failure',
        'finish-wave',
        ...fast,
      ],
      { env: { ...env, CI: undefined, GITHUB_ACTIONS: undefined }, cwd: work, timeoutMs: 120_000 },
    )
    const { status, output } = await run.exited
    const shown = stripVTControlCharacters(output)
    expect(status, shown).toBe(1)
    // listr2's renderer redraws its lanes in place (erase a line, go one up), not appended plain lines
    expect(output).toContain('\u001b[2K\u001b[1A')
    expect(shown).not.toMatch(/^fleet-a +\| /m)
    // the last frame, drawn after the last erase, before the per-cluster table: the fleet's lane
    // and one lane per cluster, each ended with its state (a failed lane says why, under it)
    const frame = stripVTControlCharacters(output.slice(output.lastIndexOf('\u001b[G'))).split('CLUSTER')[0]
    const lines = frame.split(/\r?\n/)
    const lanes = lines.filter((l) => /^[✔✖↓]/.test(l))
    expect(lanes.slice(1), frame).toEqual([
      expect.stringMatching(/^✔ fleet-a: promoted in [\d.]+s$/),
      '✖ fleet-b',
      expect.stringMatching(/^✔ fleet-c: promoted in [\d.]+s$/),
    ])
    expect(lanes[0]).toBe('✖ fleet release kubeapp 8.0')
    expect(lines[lines.indexOf('✖ fleet-b') + 1]).toMatch(/^ +› fleet-b: release 8\.0 rolled back: /)
    for (const c of ['fleet-a', 'fleet-c'])
      expect((await look(c)).state).toMatchObject({ version: '8.0', phase: 'Succeeded' })
    expect((await look('fleet-b')).state).toMatchObject({ version: '8.0', phase: 'RolledBack' })
  }, 120_000)

  it('a lock taken after the preflight stops the fleet before that cluster (exit 3, untouched); once free, the same command resumes', async () => {
    // fleet-b still fails: a fleet of a (wave 1) and c (wave 2)
    const args = ['release', '9.0', '--contexts', 'fleet-a,fleet-c', ...fast]
    const run = ec(args)
    let held: Awaited<ReturnType<typeof acquireLock>> | undefined
    try {
      await waitFor(
        'the first wave under way',
        async () => {
          const s = readState(await clusters['fleet-a'].getDeployment(ns, app))
          return s?.version === '9.0' && s.phase === 'Progressing' ? true : undefined
        },
        60_000,
        100,
      )
      held = await acquireLock(clusters['fleet-c'], ns, app, 60, { identity: 'edgecanary@elsewhere:43' })
      const r = await run
      expect(r.status, r.stderr).toBe(3)
      expect(r.stderr).toMatch(
        /^Error: fleet release kubeapp 9\.0 stopped: fleet-c: another release of kubeapp holds the lock: edgecanary@elsewhere:43; no further cluster was started$/m,
      )
      expect(r.stderr).toMatch(/^fleet-a\s+1\s+done\s*$/m)
      expect(r.stderr).toMatch(/^fleet-c\s+2\s+untouched\s+locked: another release/m)
      const c = await look('fleet-c')
      expect(c.state).toMatchObject({ version: '8.0', phase: 'Succeeded' })
      expect(c.canaryReplicas).toBe(0)
    } finally {
      await held?.release()
      await run
    }
    const again = await ec([...args, '--json'])
    expect(again.status, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({ phase: 'Succeeded', resumed: true })
    for (const c of ['fleet-a', 'fleet-c']) {
      const x = await look(c)
      expect(x.state).toMatchObject({ version: '9.0', phase: 'Succeeded' })
      expect(x.history.filter((h) => h.version === '9.0').length).toBe(1)
    }
  }, 120_000)
})
