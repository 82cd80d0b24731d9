import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { repoRoot } from '../helpers/sandbox.js'

interface DroneStep {
  name: string
  image: string
  environment?: Record<string, string | { from_secret: string }>
  commands: string[]
}
interface GithubStep {
  name?: string
  uses?: string
  with?: Record<string, string | number>
  env?: Record<string, string>
  run?: string
}

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }
const droneText = readFileSync(join(repoRoot, 'templates/ci/drone.yml'), 'utf8')
const githubText = readFileSync(join(repoRoot, 'templates/ci/github-actions.yml'), 'utf8')
const drone = parse(droneText) as {
  trigger: { event: string[] }
  concurrency: { limit: number }
  steps: DroneStep[]
}
const github = parse(githubText) as {
  on: { push: { tags: string[] } }
  concurrency: { group: string; 'cancel-in-progress': boolean }
  env: Record<string, string>
  jobs: { release: { steps: GithubStep[] } }
}
// Drone turns `$$` into `$` before the shell sees a command (its escape for shell variables)
const droneShell = (cmd: string) => cmd.replaceAll('$$', '$')

describe('CI templates', () => {
  let dir: string
  let bin: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ec-ci-'))
    bin = join(dir, 'bin')
    execFileSync('mkdir', ['-p', bin])
    // a stand-in edgecanary that records its arguments, to run the templates' shell lines for real
    writeFileSync(join(bin, 'edgecanary'), '#!/bin/sh\nprintf "%s\\n" "$@" > "$ARGS_FILE"\n')
    chmodSync(join(bin, 'edgecanary'), 0o755)
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  /** Runs shell lines as a CI runner does (one sh -e script) and returns the stand-in's arguments. */
  function sh(lines: string[], env: Record<string, string>): string[] {
    const argsFile = join(dir, 'args')
    rmSync(argsFile, { force: true })
    execFileSync('sh', ['-ec', lines.join('\n')], {
      cwd: dir,
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: join(dir, 'home'), ARGS_FILE: argsFile, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    return readFileSync(argsFile, 'utf8').trim().split('\n')
  }

  function checkDockerConfig(home: string): void {
    const file = join(home, '.docker', 'config.json')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { auths: Record<string, { auth: string }> }
    expect(Buffer.from(doc.auths['registry.example:5000'].auth, 'base64').toString()).toBe('ci-bot:s3cr:et')
  }

  describe('Drone', () => {
    it('runs edgecanary release on tags, one at a time', () => {
      expect(drone.trigger.event).toEqual(['tag'])
      expect(drone.concurrency).toEqual({ limit: 1 })
    })

    it(`installs a pinned edgecanary (${pkg.version}, this package's version), with the tarball alternative in a comment`, () => {
      const install = drone.steps.find((s) => s.name === 'install')
      expect(install?.environment?.EDGECANARY_VERSION).toBe(pkg.version)
      expect(
        install?.commands.some(
          (c) => c.includes('npm install -g') && c.includes(`edgecanary@$\${EDGECANARY_VERSION}`),
        ),
      ).toBe(true)
      expect(droneText).toMatch(/# .*release tarball/)
    })

    it('takes the Go version from go.mod (GOTOOLCHAIN=auto) and logs in to the registry without a command-line secret', () => {
      const release = drone.steps.find((s) => s.name === 'release') as DroneStep
      expect(release.image).toMatch(/^golang:/)
      expect(release.environment?.GOTOOLCHAIN).toBe('auto')
      expect(release.environment?.REGISTRY_PASSWORD).toEqual({ from_secret: 'registry_password' })
      const login = release.commands.filter((c) => c.includes('.docker'))
      expect(login.length).toBeGreaterThan(0)
      sh([...login.map(droneShell), 'edgecanary'], {
        REGISTRY: 'registry.example:5000',
        REGISTRY_USER: 'ci-bot',
        REGISTRY_PASSWORD: 's3cr:et',
      })
      checkDockerConfig(join(dir, 'home'))
    })

    it('strips the tag’s leading v, as the GitHub template does', () => {
      const release = drone.steps.find((s) => s.name === 'release') as DroneStep
      const line = release.commands.find((c) => c.startsWith('edgecanary release'))
      expect(line).toBeDefined()
      const args = sh([droneShell(line as string)], { DRONE_TAG: 'v2.0.1' })
      expect(args).toEqual(['release', '2.0.1', '--kubeconfig', '/tmp/kubeconfig', '--json'])
      expect(sh([droneShell(line as string)], { DRONE_TAG: '2.0.2' })[1]).toBe('2.0.2')
    })
  })

  describe('GitHub Actions', () => {
    const steps = github.jobs.release.steps

    it('runs edgecanary release on version tags, one per app at a time', () => {
      expect(github.on.push.tags).toEqual(['v*'])
      // biome-ignore lint/suspicious/noTemplateCurlyInString: GitHub's expression syntax, checked literally
      expect(github.concurrency.group).toContain('${{ github.repository }}')
      expect(github.concurrency['cancel-in-progress']).toBe(false)
    })

    it(`installs a pinned edgecanary (${pkg.version}), with the tarball alternative in a comment`, () => {
      expect(github.env.EDGECANARY_VERSION).toBe(pkg.version)
      expect(
        steps.some(
          (s) => s.run?.includes('npm install -g') && s.run.includes(`edgecanary@\${EDGECANARY_VERSION}`),
        ),
      ).toBe(true)
      expect(steps.some((s) => s.run?.includes('npx edgecanary'))).toBe(false)
      expect(githubText).toMatch(/# .*release tarball/)
    })

    it('takes the Go version from go.mod', () => {
      const go = steps.find((s) => s.uses?.startsWith('actions/setup-go@'))
      expect(go?.with).toEqual({ 'go-version-file': 'go.mod' })
    })

    it('logs in to the registry with secrets from the environment, never on a command line', () => {
      const login = steps.find((s) => s.name === 'Registry login') as GithubStep
      // biome-ignore lint/suspicious/noTemplateCurlyInString: GitHub's expression syntax, checked literally
      expect(login.env?.REGISTRY_PASSWORD).toBe('${{ secrets.REGISTRY_PASSWORD }}')
      expect(login.run).not.toContain('secrets.')
      sh([login.run as string, 'edgecanary'], {
        REGISTRY: 'registry.example:5000',
        REGISTRY_USER: 'ci-bot',
        REGISTRY_PASSWORD: 's3cr:et',
      })
      checkDockerConfig(join(dir, 'home'))
    })

    it('releases the tag without its leading v', () => {
      const release = steps.find((s) => s.run?.startsWith('edgecanary release')) as GithubStep
      const args = sh([release.run as string], { GITHUB_REF_NAME: 'v2.0.1', RUNNER_TEMP: '/runner/tmp' })
      expect(args).toEqual(['release', '2.0.1', '--kubeconfig', '/runner/tmp/kubeconfig', '--json'])
    })
  })
})
