import { execFile, execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { connectCluster } from '../../src/adapters/kube-cluster.js'
import type { Cluster } from '../../src/ports.js'
import { RegistryClient } from '../../src/registry/client.js'
import { type CliResult, runCli } from '../helpers/cli.js'
import { podProcesses } from '../helpers/pod-processes.js'
import { repoRoot, startSandbox, type TestSandbox } from '../helpers/sandbox.js'

interface NodeJson {
  metadata: { name: string; labels: Record<string, string> }
  status: { nodeInfo: { architecture: string } }
}

const source = join(repoRoot, 'sample-app')
const ns = 'production'
const app = 'kubeapp'

function kubectl(sb: TestSandbox, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile('kubectl', args, { env: sb.env, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    ),
  )
}

/** The index `ref` (repo:tag@digest) points at: platform → manifest digest. */
async function indexOf(ref: string): Promise<Record<string, string>> {
  const [repo, digest] = ref.split('@')
  const slash = repo.indexOf('/')
  const client = new RegistryClient({
    registry: repo.slice(0, slash),
    repository: repo.slice(slash + 1).replace(/:[^:]+$/, ''),
  })
  const m = await client.getManifest(digest)
  const doc = JSON.parse(m?.bytes.toString('utf8') ?? '{}') as {
    manifests?: { digest: string; platform: { os: string; architecture: string; variant?: string } }[]
  }
  return Object.fromEntries(
    (doc.manifests ?? []).map((e) => [
      [e.platform.os, e.platform.architecture, e.platform.variant].filter(Boolean).join('/'),
      e.digest,
    ]),
  )
}

// A Pi cluster of arm64 (Pi 4/5, 64-bit OS) and arm (Pi 2/3, 32-bit Raspberry Pi OS) nodes:
// init and release build an index for exactly those two, and every pod runs its node's binary
// through the matching qemu-user.
describe('a mixed cluster: 4 nodes, arm64 and arm', () => {
  let sb: TestSandbox
  let cluster: Cluster
  let work: string
  let initOut: CliResult
  const ec = (args: string[], timeoutMs = 240_000) => runCli(args, { env: sb.env, cwd: work, timeoutMs })

  beforeAll(async () => {
    sb = await startSandbox({ nodes: 4, arch: 'arm64,arm', backoffBaseMs: 1000 })
    work = join(sb.home, 'work')
    mkdirSync(work)
    cluster = connectCluster({ kubeconfig: sb.kubeconfig })
    initOut = await ec(['init', '--version', '1.0', '--source', source])
  }, 300_000)
  afterAll(async () => {
    await sb?.stop()
  })

  it('sandbox up --arch arm64,arm gives the nodes their architectures round-robin', async () => {
    const r = await kubectl(sb, ['get', 'nodes', '-o', 'json'])
    expect(r.code, r.stderr).toBe(0)
    const nodes = (JSON.parse(r.stdout) as { items: NodeJson[] }).items
    expect(
      nodes.map((n) => [
        n.metadata.name,
        n.status.nodeInfo.architecture,
        n.metadata.labels['kubernetes.io/arch'],
      ]),
    ).toEqual([
      ['pi-1', 'arm64', 'arm64'],
      ['pi-2', 'arm', 'arm'],
      ['pi-3', 'arm64', 'arm64'],
      ['pi-4', 'arm', 'arm'],
    ])
  })

  it('init with no platforms: builds an index for linux/arm/v7 and linux/arm64 and writes no platforms:', async () => {
    expect(initOut.status, initOut.stderr).toBe(0)
    expect(initOut.stderr).toContain(
      "platforms linux/arm/v7, linux/arm64 (the schedulable nodes' architectures)",
    )
    const image = (await cluster.getDeployment(ns, app))?.spec.template.spec.containers[0].image ?? ''
    expect(Object.keys(await indexOf(image))).toEqual(['linux/arm/v7', 'linux/arm64'])
    const cfg = parse(readFileSync(join(work, 'edgecanary.yaml'), 'utf8')) as Record<string, unknown>
    expect(cfg.platforms).toBeUndefined()
  })

  it('a release promotes 2.0; every pod answers /version through the pod proxy, runs its node’s platform through its qemu', async () => {
    expect(initOut.status, initOut.stderr).toBe(0)
    const r = await ec([
      'release',
      '2.0',
      '--steps',
      '50',
      '--interval',
      '1s',
      '--iterations',
      '1',
      '--load',
      '5',
    ])
    expect(r.status, r.stderr).toBe(0)
    const d = await cluster.getDeployment(ns, app)
    const image = d?.spec.template.spec.containers[0].image ?? ''
    expect(image).toMatch(/kubeapp:2\.0@sha256:/)
    const index = await indexOf(image)
    const archOf: Record<string, string> = { 'pi-1': 'arm64', 'pi-2': 'arm', 'pi-3': 'arm64', 'pi-4': 'arm' }
    const platformOf: Record<string, string> = { arm64: 'linux/arm64', arm: 'linux/arm/v7' }
    const qemuOf: Record<string, string> = { arm64: 'qemu-aarch64-static', arm: 'qemu-arm-static' }
    const pods = (await cluster.listPods(ns, `app=${app},track=stable`)).filter(
      (p) => !p.metadata.deletionTimestamp,
    )
    expect(pods).toHaveLength(4)
    // the scheduler spreads the four pods over the four nodes: both architectures serve
    expect(new Set(pods.map((p) => archOf[p.spec.nodeName ?? '']))).toEqual(new Set(['arm64', 'arm']))
    const procs = podProcesses(sb.home)
    for (const p of pods) {
      const arch = archOf[p.spec.nodeName ?? '']
      const answer = await cluster.podProxyGet(ns, p.metadata.name, 8080, '/version')
      expect(answer, p.metadata.name).toEqual({ status: 200, body: '2.0\n' })
      // the node pulled its own platform's manifest out of the index
      const imageID = p.status?.containerStatuses?.[0] as { imageID?: string } | undefined
      expect(imageID?.imageID?.split('@')[1], p.metadata.name).toBe(index[platformOf[arch]])
      const mine = procs.filter((x) => x.pod === p.metadata.name)
      expect(mine.length, `processes of ${p.metadata.name}`).toBeGreaterThan(0)
      // the container's app runs under the node's qemu-user (bind-mounted into its root, so its
      // path there says nothing): one of the pod's processes executes that very file of the host
      // (the others are the pod's network helper and the namespace setup)
      const qemu = statSync(execFileSync('which', [qemuOf[arch]], { encoding: 'utf8' }).trim())
      const exes = mine.flatMap((x) => {
        try {
          const st = statSync(`/proc/${x.pid}/exe`)
          return [`${st.dev}:${st.ino}`]
        } catch {
          return []
        }
      })
      expect(exes, `${p.metadata.name} runs ${qemuOf[arch]}`).toContain(`${qemu.dev}:${qemu.ino}`)
    }
  })

  it('platforms: that leaves out arm is a preflight error naming pi-2 and pi-4: exit 2, nothing applied', async () => {
    const file = join(work, 'edgecanary.yaml')
    const before = readFileSync(file, 'utf8')
    writeFileSync(file, stringify({ ...(parse(before) as object), platforms: ['linux/arm64'] }))
    try {
      const stable = await cluster.getDeployment(ns, app)
      const runs = [
        ['release', '3.0', '--interval', '1s'],
        ['init', '--version', '3.0', '--source', source],
      ]
      for (const [i, r] of (await Promise.all(runs.map((args) => ec(args)))).entries()) {
        expect(r.status, `${runs[i][0]}: ${r.stderr}`).toBe(2)
        expect(r.stderr).toContain('platforms linux/arm64 leave out nodes pi-2, pi-4 (linux/arm/v7)')
        expect(r.stderr).toContain('linux/arm64,linux/arm/v7')
      }
      const after = await cluster.getDeployment(ns, app)
      expect(after?.spec.template.spec.containers[0].image).toBe(
        stable?.spec.template.spec.containers[0].image,
      )
      expect(after?.metadata.resourceVersion).toBe(stable?.metadata.resourceVersion)
      expect(await cluster.getDeployment(ns, `${app}-canary`).then((c) => c?.spec.replicas ?? 0)).toBe(0)
    } finally {
      writeFileSync(file, before)
    }
  })
})

// Raspberry Pi 2/3 boards on 32-bit Raspberry Pi OS: every node is `arm`.
describe('an all-arm cluster', () => {
  let sb: TestSandbox
  let work: string
  let cluster: Cluster
  const ec = (args: string[], timeoutMs = 240_000) => runCli(args, { env: sb.env, cwd: work, timeoutMs })

  beforeAll(async () => {
    sb = await startSandbox({ nodes: 2, arch: 'arm', backoffBaseMs: 1000 })
    work = join(sb.home, 'work')
    mkdirSync(work)
    cluster = connectCluster({ kubeconfig: sb.kubeconfig })
  }, 120_000)
  afterAll(async () => {
    await sb?.stop()
  })

  it('sandbox up refuses an unknown architecture or node name (exit 2) before starting anything', async () => {
    const cases = [
      [['--arch', 'arm64,mips'], '--arch "mips" is not one of arm64, arm, amd64'],
      [
        ['--nodes', '2', '--nodes-arch', 'pi-3=arm'],
        '--nodes-arch names node "pi-3", but the nodes are pi-1, pi-2',
      ],
    ] as const
    const env = { ...sb.env, EDGECANARY_HOME: join(work, 'none') }
    const results = await Promise.all(cases.map(([args]) => runCli(['sandbox', 'up', ...args], { env })))
    for (const [i, r] of results.entries()) {
      expect(r.status, r.stderr).toBe(2)
      expect(r.stderr).toContain(cases[i][1])
    }
    // nothing started: no sandbox state in that home
    expect(existsSync(join(work, 'none', 'sandbox', 'state.json'))).toBe(false)
  })

  it('init with no platforms: builds linux/arm/v7 and every pod is Ready', async () => {
    const r = await ec(['init', '--version', '1.0', '--replicas', '2', '--source', source])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr).toContain("platforms linux/arm/v7 (the schedulable nodes' architectures)")
    const pods = await cluster.listPods(ns, `app=${app}`)
    expect(pods).toHaveLength(2)
    for (const p of pods) {
      expect(p.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True')
      expect(await cluster.podProxyGet(ns, p.metadata.name, 8080, '/version')).toEqual({
        status: 200,
        body: '1.0\n',
      })
    }
    // build asks the cluster too: one platform, arm/v7
    const b = await ec(['build', '--version', '1.0', '--source', source, '--json'])
    expect(b.status, b.stderr).toBe(0)
    expect((JSON.parse(b.stdout) as { platforms: string[] }).platforms).toEqual(['linux/arm/v7'])
  })

  it('init with an arm64 image fails fast, naming the pod, its node and exec format error (exit 1); a second init repairs it', async () => {
    const built = await ec([
      'build',
      '--version',
      'wrong',
      '--platform',
      'linux/arm64',
      '--source',
      source,
      '--json',
    ])
    expect(built.status, built.stderr).toBe(0)
    const wrong = (JSON.parse(built.stdout) as { image: string }).image
    // with the preflight the image is refused before anything is applied
    const refused = await ec(['init', '--image', wrong])
    expect(refused.status, refused.stderr).toBe(2)
    expect(refused.stderr).toContain('built for arm64 but the nodes are arm')
    const r = await ec(['init', '--image', wrong, '--skip-preflight', '--json'])
    expect(r.status, r.stderr).toBe(1)
    const err = JSON.parse(r.stdout) as { error: { code: string; message: string } }
    expect(err.error.code).toBe('PODS_CANNOT_RUN')
    expect(err.error.message).toMatch(
      /^kubeapp cannot run: exec format error: pod kubeapp-[a-z0-9-]+ on node pi-[12] runs a binary of the wrong architecture$/,
    )
    const again = await ec(['init', '--version', '1.0', '--replicas', '2', '--source', source, '--json'])
    expect(again.status, again.stderr).toBe(0)
    const d = await cluster.getDeployment(ns, app)
    expect(d?.spec.template.spec.containers[0].image).toMatch(/kubeapp:1\.0@sha256:/)
    expect(d?.status?.readyReplicas).toBe(2)
  })
})
