import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { Command } from '@oclif/core'
import { describe, expect, it } from 'vitest'

const commandsDir = join(import.meta.dirname, '..', '..', 'src', 'commands')

/** Every command file under src/commands, as oclif finds them (tests excluded). */
function commandFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? commandFiles(join(dir, e.name))
      : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')
        ? [join(dir, e.name)]
        : [],
  )
}

const files = commandFiles(commandsDir)
const idOf = (file: string) => relative(commandsDir, file).replace(/\.ts$/, '').split('/').join(' ')

describe('every command documents itself, with a --json example', () => {
  it('finds the commands', () => {
    expect(files.map(idOf)).toEqual(
      expect.arrayContaining(['build', 'init', 'release', 'verify', 'sandbox fault']),
    )
  })

  it.each(files.map((f) => [idOf(f), f]))('%s', async (_id, file) => {
    const mod = (await import(file)) as { default: typeof Command }
    const cmd = mod.default
    expect(cmd.description?.trim()).toBeTruthy()
    expect(cmd.enableJsonFlag).toBe(true)
    const examples = (cmd.examples ?? []).map((e) => (typeof e === 'string' ? e : e.command))
    expect(examples.length).toBeGreaterThan(0)
    expect(examples.filter((e) => /(^|\s)--json(\s|$)/.test(e))).not.toHaveLength(0)
  })
})

describe('release --help explains the sample app switches its examples use', () => {
  it.each(['FAIL_RATE', 'HEALTH_STATUS', 'LATENCY_MS', 'CRASH_AFTER_S'])('%s', async (knob) => {
    const cmd = ((await import(join(commandsDir, 'release.ts'))) as { default: typeof Command }).default
    const help = cmd.description ?? ''
    // a line of the description says what the switch does, not only its name in an example
    const line = help.split('\n').find((l) => l.trimStart().startsWith(`${knob}=`))
    expect(line, help).toMatch(new RegExp(`^${knob}=\\S+: \\S.{20,}`))
    const examples = (cmd.examples ?? []).map((e) => (typeof e === 'string' ? e : e.command)).join('\n')
    expect(examples).toContain(`--env ${knob}=`)
  })
})
