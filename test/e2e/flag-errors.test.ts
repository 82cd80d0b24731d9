import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectCluster } from '../../src/adapters/kube-cluster.js'
import type { Cluster } from '../../src/ports.js'
import { runCli } from '../helpers/cli.js'
import { repoRoot, startSandbox, type TestSandbox } from '../helpers/sandbox.js'

// Issue 17, flags and inputs: every bad input is refused with exit 2, one line and a hint, no
// stack trace, before anything is built, pushed or applied. Each command's table runs through
// the real CLI against one running sandbox with an initialized app; after each case the
// cluster (every object's resourceVersion in the app's namespace, leases, the namespaces) and
// the registry (catalog and tags) are exactly as before.
describe('bad flags and inputs: exit 2, one line + hint, nothing changed', () => {
  let sb: TestSandbox
  let cluster: Cluster
  let work: string
  const ns = 'production'

  beforeAll(async () => {
    sb = await startSandbox({ nodes: 1 })
    work = join(sb.home, 'work')
    mkdirSync(work)
    cluster = connectCluster({ kubeconfig: sb.kubeconfig })
    const init = await runCli(
      ['init', '--version', '1.0', '--replicas', '1', '--source', join(repoRoot, 'sample-app'), '--json'],
      { env: sb.env, cwd: work, timeoutMs: 150_000 },
    )
    if (init.status !== 0) throw new Error(`init failed: ${init.stderr}`)
    writeFileSync(join(work, 'bad-notify.yaml'), 'app: kubeapp\nnotify:\n  - file:///etc/passwd\n')
    writeFileSync(
      join(work, 'bad-interval.yaml'),
      'app: kubeapp\nanalysis:\n  interval: 99999999999999999999s\n',
    )
  }, 180_000)
  afterAll(async () => {
    await sb?.stop()
  })

  /** Everything a refused command might have changed: objects, namespaces, registry content. */
  async function snapshot(): Promise<string> {
    const kinds = 'namespaces,deployments,replicasets,services,configmaps,leases'
    const objects = execFileSync(
      'kubectl',
      [
        'get',
        kinds,
        '-A',
        '-o',
        'jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}@{.metadata.resourceVersion}{"\\n"}{end}',
      ],
      { env: sb.env, encoding: 'utf8' },
    )
    const pods = (await cluster.listPods(ns, 'app=kubeapp')).map((p) => p.metadata.name).sort()
    const catalog = await fetch(`http://${sb.registry}/v2/_catalog`).then((r) => r.text())
    const tags = await fetch(`http://${sb.registry}/v2/kubeapp/tags/list`).then((r) => r.text())
    return JSON.stringify({ objects: objects.split('\n').sort(), pods, catalog, tags }, null, 1)
  }

  async function refused(args: string[], line: string, json = false) {
    const r = await runCli(args, { env: sb.env, cwd: work, timeoutMs: 60_000 })
    expect(r.status, r.stderr).toBe(2)
    const lines = r.stderr.trimEnd().split('\n')
    // one line and a hint; no stack trace, no progress lines before it
    expect(lines, r.stderr).toHaveLength(2)
    expect(lines[0]).toContain(`Error: ${line}`)
    expect(lines[1]).toMatch(/^Hint: \S/)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(r.stdout).toBe('')
    if (!json) return
    // --json: one document with the same message
    const j = await runCli([...args, '--json'], { env: sb.env, cwd: work, timeoutMs: 60_000 })
    expect(j.status).toBe(2)
    expect((JSON.parse(j.stdout) as { error: { message: string } }).error.message).toContain(line)
  }

  let before = ''
  it('the app is there and the snapshot sees it', async () => {
    const s = await snapshot()
    before = s
    expect(s).toContain('production/kubeapp@')
    expect(s).toContain('Deployment/production/kubeapp@')
    expect(JSON.parse(s).tags).toContain('"1.0"')
  })

  it.concurrent.each([
    [
      ['--iterations', '99999999999999999999'],
      '--iterations 100000000000000000000: too big: expected number to be <=100',
    ],
    [
      ['--interval', '99999999999999999999s'],
      '--interval 99999999999999999999s: must be between 100ms and 60m',
    ],
    [['--interval', 'soon'], '--interval soon: must be a duration'],
    [['--steps', '0,50'], 'steps "0,50" must be weights between 1 and 99'],
    [['--load', '1001'], '--load 1001: too big'],
    [['--image', ''], 'image reference "" is invalid: it is empty'],
    [['--notify', 'ftp://hooks.example/x'], '--notify "ftp://hooks.example/x": must be an http(s) URL'],
    [['--config', 'missing.yaml'], '--config missing.yaml: no such file'],
    [['--config', 'bad-notify.yaml'], 'bad-notify.yaml: notify.0: must be an http(s) URL'],
    [
      ['--config', 'bad-interval.yaml'],
      'bad-interval.yaml: analysis.interval: must be between 100ms and 60m',
    ],
    [['-n', 'Production'], '-n "Production" is not a valid Kubernetes name'],
  ])('release 2.0 %j', async (args, line) => {
    await refused(['release', '2.0', ...args], line, args[0] === '--iterations')
  })

  it.concurrent.each([
    [['--url', 'ftp://127.0.0.1/x'], '--url "ftp://127.0.0.1/x" is not an http(s) URL'],
    [['--timeout', '60001'], '--timeout: expected an integer ≤ 60000, got 60001'],
    [['-n', 'a_b'], '-n "a_b" is not a valid Kubernetes name'],
    [['--config', 'missing.yaml'], '--config missing.yaml: no such file'],
  ])('verify %j', async (args, line) => {
    await refused(['verify', '--requests', '1', ...args], line, args[0] === '--url')
  })

  it.concurrent.each(['status', 'history', 'promote', 'abort'])(
    '%s: --app, -n and --config',
    async (command) => {
      await refused([command, '--app', 'Kube_App'], '--app "Kube_App" is not a valid Kubernetes name', true)
      await refused([command, '-n', 'x'.repeat(64)], `-n "${'x'.repeat(64)}" is not a valid Kubernetes name`)
      await refused([command, '--config', 'missing.yaml'], '--config missing.yaml: no such file')
    },
  )

  it.concurrent.each([
    [['--image', ''], 'image reference "" is invalid: it is empty'],
    [['--app', 'KubeApp'], '--app "KubeApp" is not a valid Kubernetes name'],
    [['-n', 'prod.eu'], '-n "prod.eu" is not a valid Kubernetes name'],
    [['--hosts', ''], '--hosts names no host'],
    [
      ['--hosts', 'pi@127.0.0.1', '--user', 'pi root', '--registry', 'r.lan:5000'],
      '--user "pi root" is not a user name',
    ],
  ])('init %j', async (args, line) => {
    await refused(['init', '--version', '3.0', ...args], line)
  })

  it('build --config that does not exist', async () => {
    await refused(
      ['build', '--version', '3.0', '--config', 'missing.yaml'],
      '--config missing.yaml: no such file',
    )
  })

  // after every refused command above (the concurrent ones are awaited before this runs)
  it('nothing was built, pushed or applied by any of them', async () => {
    expect(before).not.toBe('')
    expect(await snapshot()).toBe(before)
  })
})
