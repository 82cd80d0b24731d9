import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'

// oclif's parse errors span lines; the CLI prints one line that keeps the detail, plus a hint.
describe('parse errors are one meaningful line, a hint, exit 2', () => {
  const home = mkdtempSync(join(tmpdir(), 'ec-parse-'))
  const env = { ...process.env, EDGECANARY_HOME: home, KUBECONFIG: join(home, 'none'), CI: 'true' }
  afterAll(() => rmSync(home, { recursive: true, force: true }))

  it.each([
    [['release'], 'missing argument VERSION', 'release'],
    [['init', '--replicas', '0'], '--replicas: expected an integer ≥ 1, got 0', 'init'],
    [['init', '--replicas', '101'], '--replicas: expected an integer ≤ 100, got 101', 'init'],
    [['verify', '--requests', 'many'], '--requests: expected an integer, got many', 'verify'],
    [['sandbox', 'fault'], 'missing argument KIND (one of node-stop, node-start,', 'sandbox fault'],
    [['build', '--bogus'], 'Nonexistent flag: --bogus', 'build'],
    [['release', '2.0', '3.0'], 'Unexpected argument: 3.0', 'release'],
  ])('%j', async (args, line, command) => {
    const r = await runCli(args, { env, cwd: home })
    expect(r.status).toBe(2)
    const lines = r.stderr.trimEnd().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toContain(`Error: ${line}`)
    expect(lines[1]).toBe(`Hint: see: edgecanary ${command} --help`)
    expect(r.stdout).toBe('')
  })

  it('with --json: one JSON document on stdout with the same line and hint', async () => {
    const r = await runCli(['init', '--replicas', '0', '--json'], { env, cwd: home })
    expect(r.status).toBe(2)
    expect(JSON.parse(r.stdout)).toEqual({
      error: {
        code: 'USAGE',
        message: '--replicas: expected an integer ≥ 1, got 0',
        hint: 'see: edgecanary init --help',
      },
    })
  })
})
