import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { repoRoot } from '../helpers/sandbox.js'

describe('CI templates', () => {
  it('the Drone pipeline runs edgecanary release on tags', () => {
    const doc = parse(readFileSync(join(repoRoot, 'templates/ci/drone.yml'), 'utf8')) as {
      trigger: { event: string[] }
      steps: { commands: string[] }[]
    }
    expect(doc.trigger.event).toEqual(['tag'])
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Drone's own variable syntax, checked literally
    const release = 'edgecanary release ${DRONE_TAG}'
    expect(doc.steps.flatMap((s) => s.commands).some((c) => c.startsWith(release))).toBe(true)
  })
  it('the GitHub Actions workflow runs edgecanary release on version tags', () => {
    const doc = parse(readFileSync(join(repoRoot, 'templates/ci/github-actions.yml'), 'utf8')) as {
      on: { push: { tags: string[] } }
      jobs: { release: { steps: { run?: string }[] } }
    }
    expect(doc.on.push.tags).toEqual(['v*'])
    expect(doc.jobs.release.steps.some((s) => s.run?.includes('edgecanary release'))).toBe(true)
  })
})
