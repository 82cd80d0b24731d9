import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../helpers/sandbox.js'

describe('docs/commands/ command reference', () => {
  it('is what `npm run docs` generates from the commands now (rerun it after changing a command)', () => {
    const out = join('.tmp', `docs-check-${process.pid}`)
    try {
      execFileSync(process.execPath, ['scripts/docs.mjs', out], {
        cwd: repoRoot,
        stdio: ['ignore', 'ignore', 'pipe'],
      })
      const fresh = readdirSync(join(repoRoot, out)).sort()
      const checkedIn = readdirSync(join(repoRoot, 'docs', 'commands')).sort()
      expect(checkedIn, 'docs/commands/ pages differ from the commands: run `npm run docs`').toEqual(fresh)
      expect(fresh).toEqual(expect.arrayContaining(['README.md', 'release.md', 'sandbox.md', 'version.md']))
      for (const f of fresh) {
        const want = readFileSync(join(repoRoot, out, f), 'utf8')
        expect(
          readFileSync(join(repoRoot, 'docs', 'commands', f), 'utf8'),
          `docs/commands/${f} is stale: run \`npm run docs\``,
        ).toBe(want)
      }
      // the reference holds each command's usage and flags, e.g. release's --steps
      expect(readFileSync(join(repoRoot, 'docs', 'commands', 'release.md'), 'utf8')).toContain(
        '--steps=<value>',
      )
    } finally {
      rmSync(join(repoRoot, out), { recursive: true, force: true })
    }
  })
})
