import { spawn } from 'node:child_process'
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

/**
 * The lines a terminal shows at the end of `raw`: text, newlines, `ESC[nF` (to the start of
 * the line n up) and `ESC[J` (erase to the end of the screen); other sequences (colours) are
 * dropped. Enough to tell a block redrawn in place from blocks appended one after another.
 */
function screen(raw: string): string[] {
  const lines = ['']
  let row = 0
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's escape sequences are what is read
  for (const m of raw.matchAll(/\u001b\[(\d*)([A-Za-z])|\r?\n|\r|[^\u001b\r\n]+|\u001b/g)) {
    if (m[0] === '\n' || m[0] === '\r\n') {
      row++
      lines[row] ??= ''
    } else if (m[2] === 'F') row = Math.max(0, row - Number(m[1] || 1))
    else if (m[2] === 'J') {
      lines.splice(row + 1)
      lines[row] = ''
    } else if (m[2] === undefined && m[0] !== '\r' && m[0] !== '\u001b') lines[row] += m[0]
  }
  return lines.filter((l) => l !== '')
}

/** `edgecanary …` as a background process whose output can be read while it runs. */
function spawnCli(args: string[], env: NodeJS.ProcessEnv, cwd: string) {
  const child = spawn(process.execPath, [cliEntry, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  let code: number | null | undefined
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString()
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
  const exited = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (status) => {
      clearTimeout(timer)
      code = status
      resolve({ status, stdout: out, stderr: err })
    }),
  )
  return { stdout: () => out, stderr: () => err, exitCode: () => code, exited }
}

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

  it('Ctrl-C while the new version is still being built: exit 130, nothing changed, nothing to resume', async () => {
    const before = await cluster.getDeployment(ns, 'kubeapp')
    // no --image: it builds the packaged sample app, and the compiler gets the SIGINT as well
    const run = inTerminal(['release', '4.0', ...fast])
    await waitFor(
      'the release to start building',
      () => (run.output().includes('release kubeapp 4.0') ? true : undefined),
      60_000,
      20,
    )
    run.type('\x03')
    const r = await run.exited
    const shown = stripVTControlCharacters(r.output)
    expect(r.status, shown).toBe(130)
    expect(shown).toContain('Error: release 4.0 interrupted before it started: nothing changed')
    expect(shown).toContain('Hint: run `edgecanary release 4.0` again when ready')
    expect((await cluster.getDeployment(ns, 'kubeapp'))?.metadata.resourceVersion).toBe(
      before?.metadata.resourceVersion,
    )
    expect((await cluster.getDeployment(ns, 'kubeapp-canary'))?.spec.replicas ?? 0).toBe(0)
  }, 90_000)

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

  it('status --watch follows a release that starts after it: redrawn in place in a terminal, NDJSON with --json', async () => {
    // the last release (3.0) has ended: both watchers must wait for the next one, not exit
    const lines = spawnCli(['status', '--watch', '--json'], sb.env, work)
    const tty = inTerminal(['status', '--watch'])
    let ttyExited = false
    void tty.exited.then(() => {
      ttyExited = true
    })
    await waitFor('both watchers showed the ended release', () =>
      lines.stdout().includes('\n') && tty.output().includes('RolledBack (release 3.0') ? true : undefined,
    )
    await new Promise((r) => setTimeout(r, 1500))
    expect(lines.exitCode(), lines.stderr()).toBeUndefined()
    expect(ttyExited, tty.output()).toBe(false)

    const rel = await ec(['release', '2.0', '--image', images['2.0'], ...fast, '--json'])
    expect(rel.status, rel.stderr).toBe(0)
    const [j, t] = await Promise.all([lines.exited, tty.exited])

    // --json: one compact document per line, per change, from the old release to the new one's end
    expect(j.status, j.stderr).toBe(0)
    const docs = j.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { phase: string; version?: string; step?: string })
    expect(docs[0]).toMatchObject({ phase: 'RolledBack', version: '3.0' })
    expect(docs.at(-1)).toMatchObject({ phase: 'Succeeded', version: '2.0' })
    expect(docs.map((d) => d.phase)).toContain('Progressing')
    for (let i = 1; i < docs.length; i++)
      expect(JSON.stringify(docs[i])).not.toBe(JSON.stringify(docs[i - 1]))

    // in a terminal: redrawn in place, so the screen ends with one block, the last one
    expect(t.status, t.output).toBe(0)
    const raw = stripVTControlCharacters(t.output)
    expect(count(raw, 'kubeapp in production:')).toBeGreaterThan(2)
    const shown = screen(t.output)
    expect(
      shown.filter((l) => l.includes('kubeapp in production:')),
      shown.join('\n'),
    ).toEqual(['kubeapp in production: Succeeded (release 2.0 from 1.0)'])
    // what it showed on the way: the ratio bar with canary pods, the step, the analysis
    expect(raw).toMatch(/ratio {5}█+▒+ {2}stable 1 : canary 1 {3}step 1\/1/)
    expect(raw).toMatch(/analysis {2}ok \(\d+ canary requests/)
  }, 120_000)

  // last: it stops this file's sandbox
  it('after `sandbox down`, commands that need the cluster say the sandbox is stopped and how to start it', async () => {
    const down = await ec(['sandbox', 'down'])
    expect(down.status, down.stderr).toBe(0)
    // build asks the cluster for its registry only without edgecanary.yaml: another empty directory
    const elsewhere = join(sb.home, 'elsewhere')
    mkdirSync(elsewhere)
    const build = await runCli(['build', '--version', '4.0'], { env: sb.env, cwd: elsewhere })
    expect(build.status, build.stderr).toBe(2)
    expect(build.stderr).toContain('the sandbox is stopped (`edgecanary sandbox up` starts it)')
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
