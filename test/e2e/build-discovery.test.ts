import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { runCli } from '../helpers/cli.js'
import { freePort } from '../helpers/ports.js'
import { repoRoot, startSandbox, type TestSandbox } from '../helpers/sandbox.js'

interface Kubeconfig {
  clusters: { name: string; cluster: Record<string, string> }[]
  users: { name: string; user: Record<string, string> }[]
  contexts: { name: string; context: { cluster: string; user: string } }[]
  'current-context': string
}

// `build` with neither --repo nor a repository in edgecanary.yaml pushes to the registry the
// cluster advertises in kube-public/local-registry-hosting, chosen with --kubeconfig/--context.
describe('edgecanary build discovers the registry from the cluster', () => {
  let sandbox: TestSandbox
  const work = mkdtempSync(join(tmpdir(), 'ec-build-discovery-'))
  const kubeconfig = join(work, 'kubeconfig')
  // no KUBECONFIG and an empty HOME: only --kubeconfig can lead to the sandbox
  const { KUBECONFIG: _unused, ...base } = process.env
  // Go's build cache stays shared so the compile stays warm
  const GOCACHE = process.env.GOCACHE ?? join(homedir(), '.cache', 'go-build')
  const env = { ...base, HOME: work, GOCACHE, EDGECANARY_HOME: join(work, 'home'), CI: 'true' }
  const build = (...args: string[]) =>
    runCli(['build', '--version', '1.0', '--source', join(repoRoot, 'sample-app'), ...args], {
      env,
      cwd: work,
    })

  beforeAll(async () => {
    sandbox = await startSandbox({ nodes: 1 })
    // the current context is a cluster that is not there; the sandbox is another context
    const kc = parse(readFileSync(sandbox.kubeconfig, 'utf8')) as Kubeconfig
    const dead = `https://127.0.0.1:${await freePort()}`
    kc.clusters.push({ name: 'gone', cluster: { server: dead, 'insecure-skip-tls-verify': 'true' } })
    kc.users.push({ name: 'gone', user: { token: 'x' } })
    kc.contexts.push({ name: 'gone', context: { cluster: 'gone', user: 'gone' } })
    kc['current-context'] = 'gone'
    writeFileSync(kubeconfig, stringify(kc), { mode: 0o600 })
    writeFileSync(join(work, 'edgecanary.yaml'), 'app: web\n')
  })
  afterAll(async () => {
    await sandbox?.stop()
    rmSync(work, { recursive: true, force: true })
  })

  it('--kubeconfig + --context: pushes to <advertised registry>/<app from edgecanary.yaml>', async () => {
    const r = await build('--kubeconfig', kubeconfig, '--context', 'edgecanary-sandbox', '--json')
    expect(r.status, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as { image: string; digest: string }
    expect(out.image).toBe(`${sandbox.registry}/web:1.0@${out.digest}`)
    const head = await fetch(`http://${sandbox.registry}/v2/web/manifests/1.0`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    })
    expect(head.status).toBe(200)
    expect(head.headers.get('docker-content-digest')).toBe(out.digest)
  })

  it('without --context the unreachable current context is asked: exit 2 saying so, with a hint', async () => {
    const r = await build('--kubeconfig', kubeconfig)
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/^Error: no image repository given, and the cluster could not be asked/m)
    expect(r.stderr).toMatch(/^Hint: pass --repo HOST\[:PORT\]\/NAME/m)
  })
})
