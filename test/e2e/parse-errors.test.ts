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

  it.each([
    [['status', 'extra'], 'Error: Unexpected argument: extra', 'Hint: see: edgecanary status --help'],
    [
      ['relase', '2.0'],
      'Error: unknown command "relase"',
      'Hint: did you mean `edgecanary release`? see: edgecanary --help',
    ],
    [
      ['sandbox', 'upp'],
      'Error: unknown command "sandbox upp"',
      'Hint: did you mean `edgecanary sandbox up`? see: edgecanary sandbox --help',
    ],
  ])('words that name no command: %j', async (args, line, hint) => {
    const r = await runCli(args, { env, cwd: home })
    expect(r.status).toBe(2)
    expect(r.stderr.trimEnd().split('\n')).toEqual([line, hint])
    expect(r.stdout).toBe('')
    const j = await runCli([...args, '--json'], { env, cwd: home })
    expect(j.status).toBe(2)
    expect(JSON.parse(j.stdout)).toEqual({
      error: { code: 'USAGE', message: line.replace('Error: ', ''), hint: hint.replace('Hint: ', '') },
    })
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
