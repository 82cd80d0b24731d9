import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { stripVTControlCharacters } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectCluster } from '../../src/adapters/kube-cluster.js'
import type { Cluster } from '../../src/ports.js'
import { type CliResult, runCli } from '../helpers/cli.js'
import { pushSampleApp } from '../helpers/images.js'
import { waitFor } from '../helpers/ports.js'
import { runInPty } from '../helpers/pty.js'
import { cliEntry, startSandbox, type TestSandbox } from '../helpers/sandbox.js'

const count = (text: string, part: string) => text.split(part).length - 1

// Issue 17, the terminal: edgecanary as a user runs it in a terminal (a real pseudo-terminal,
// listr2's renderer, Ctrl-C typed as a key), from an empty directory after `npm install -g`.
describe('edgecanary in a terminal', () => {
  let sb: TestSandbox
  let cluster: Cluster
  let work: string
  let initOut: CliResult
  const images: Record<string, string> = {}
  const ns = 'production'
  /** The user's terminal: no CI, a TTY (runInPty). */
  let ttyEnv: NodeJS.ProcessEnv
  const ec = (args: string[]) => runCli(args, { env: sb.env, cwd: work, timeoutMs: 120_000 })
  const inTerminal = (args: string[]) =>
    runInPty([process.execPath, cliEntry, ...args], { env: ttyEnv, cwd: work, timeoutMs: 120_000 })
  const fast = ['--interval', '1s', '--iterations', '1', '--load', '10', '--steps', '50']
  /** A release that stays in its first step's analysis for a minute. */
  const slow = ['--interval', '2s', '--iterations', '30', '--load', '10', '--steps', '50']

  beforeAll(async () => {
    sb = await startSandbox({ nodes: 1 })
    ttyEnv = { ...sb.env, CI: undefined, GITHUB_ACTIONS: undefined }
    // an empty directory: no edgecanary.yaml, no ./sample-app
    work = join(sb.home, 'empty')
    mkdirSync(work)
    const built = Promise.all(['2.0', '3.0'].map(async (v) => [v, await pushSampleApp(sb, v)] as const))
    initOut = await ec(['init', '--version', '1.0', '--replicas', '2'])
    for (const [v, image] of await built) images[v] = image
    cluster = connectCluster({ kubeconfig: sb.kubeconfig })
  }, 180_000)
  afterAll(async () => {
    await sb?.stop()
  })

  it('init in an empty directory builds the sample app shipped inside the package and says so in one line', () => {
    expect(initOut.status, initOut.stderr).toBe(0)
    const note = initOut.stderr.split('\n').filter((l) => l.includes('sample app shipped with edgecanary'))
    expect(note).toHaveLength(1)
    expect(note[0]).toContain(join(cliEntry, '..', '..', 'sample-app'))
    expect(initOut.stderr).not.toContain('does not exist')
  })

  it('Ctrl-C typed during a release exits 130 with the resume hint, every time', async () => {
    // 1: during the first step's analysis
    const first = inTerminal(['release', '2.0', '--image', images['2.0'], ...slow])
    await waitFor(
      'canary Ready in step 1',
      async () =>
        (await cluster.getDeployment(ns, 'kubeapp-canary'))?.status?.readyReplicas === 1 ? true : undefined,
      60_000,
      100,
    )
    first.type('\x03')
    const a = await first.exited
    const shown = stripVTControlCharacters(a.output)
    expect(a.status, shown).toBe(130)
    expect(shown).toContain('Error: release 2.0 interrupted')
    expect(shown).toContain(
      'Hint: resume with `edgecanary release 2.0`, or roll back with `edgecanary abort`',
    )
    // it ran in the terminal renderer (listr2 draws with escape sequences), not plain lines
    expect(a.output).toContain('\u001b[')

    // 2: while resuming, as soon as it says so
    const second = inTerminal(['release', '2.0', '--image', images['2.0'], ...slow])
    await waitFor(
      'resuming',
      async () => (second.output().includes('resuming') ? true : undefined),
      60_000,
      50,
    )
    second.type('\x03')
    const b = await second.exited
    expect(b.status, stripVTControlCharacters(b.output)).toBe(130)
    expect(stripVTControlCharacters(b.output)).toContain('Hint: resume with `edgecanary release 2.0`')

    const st = JSON.parse((await ec(['status', '--json'])).stdout) as { phase: string }
    expect(st.phase).toBe('Interrupted')
    const done = await ec(['abort', '--json'])
    expect(done.status, done.stderr).toBe(0)
  }, 150_000)

  it('a failed release prints its reason once, in a terminal and in plain lines', async () => {
    const run = inTerminal(['release', '3.0', '--image', images['3.0'], ...fast, '--env', 'FAIL_RATE=1'])
    const r = await run.exited
    const shown = stripVTControlCharacters(r.output)
    expect(r.status, shown).toBe(1)
    const h = JSON.parse((await ec(['history', '--json'])).stdout) as { releases: { reason?: string }[] }
    const reason = h.releases.at(-1)?.reason ?? ''
    expect(reason.length).toBeGreaterThan(5)
    expect(count(r.output, reason), shown).toBe(1)
    expect(shown).toContain(`Error: release 3.0 rolled back: ${reason}`)

    const plain = await ec(['release', '3.0', '--image', images['3.0'], ...fast, '--env', 'FAIL_RATE=1'])
    expect(plain.status).toBe(1)
    const reason2 =
      (
        JSON.parse((await ec(['history', '--json'])).stdout) as { releases: { reason?: string }[] }
      ).releases.at(-1)?.reason ?? ''
    expect(count(plain.stderr, reason2), plain.stderr).toBe(1)
  }, 120_000)

  // last: it stops this file's sandbox
  it('after `sandbox down`, commands that need the cluster say the sandbox is stopped and how to start it', async () => {
    const down = await ec(['sandbox', 'down'])
    expect(down.status, down.stderr).toBe(0)
    for (const args of [['status'], ['release', '4.0', '--image', images['3.0']], ['history']]) {
      const r = await ec(args)
      expect(r.status, r.stderr).toBe(2)
      expect(r.stderr.trimEnd().split('\n')).toEqual([
        'Error: the sandbox is stopped (`edgecanary sandbox down` removed its kubeconfig context)',
        'Hint: start it with `edgecanary sandbox up` (its objects are kept), or pass --context NAME for another cluster',
      ])
    }
  })
})
