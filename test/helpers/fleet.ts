import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'
import { runCli } from './cli.js'
import { freePort } from './ports.js'
import { repoRoot, startSandbox, type TestSandbox } from './sandbox.js'

interface KubeconfigDoc {
  clusters: { name: string; cluster: Record<string, unknown> }[]
  users: { name: string; user: Record<string, unknown> }[]
  contexts: { name: string; context: { cluster: string; user: string; namespace?: string } }[]
  'current-context'?: string
}

export interface TestFleet {
  sandboxes: TestSandbox[]
  /** Context names, in order: `<prefix>-1`, … (each sandbox's own is `edgecanary-sandbox`). */
  names: string[]
  /** A context whose API port has nothing listening (with `unreachable: true`). */
  gone?: string
  /** One kubeconfig (0600) with every context. */
  kubeconfig: string
  /** EDGECANARY_HOME of the fleet's CLI runs; `work` holds its edgecanary.yaml. */
  home: string
  work: string
  /** Environment for fleet CLI runs (own home, the merged kubeconfig, CI=true). */
  env: NodeJS.ProcessEnv
  stop(): Promise<void>
}

/**
 * Starts `n` sandboxes at once (each with its own home and registry), merges their contexts
 * into one kubeconfig under distinct names, and runs `init` in each (the app at `version`
 * with `replicas` pods, pushed to that sandbox's own registry). `inits` bounds how many
 * `init`s run at once.
 */
export async function startFleet(o: {
  n: number
  prefix: string
  /** Context names instead of `<prefix>-1`, …. */
  names?: string[]
  nodes?: number
  replicas?: number
  version?: string
  unreachable?: boolean
  inits?: number
}): Promise<TestFleet> {
  const sandboxes: TestSandbox[] = []
  const home = mkdtempSync(join(tmpdir(), 'ec-fleet-'))
  const stop = async () => {
    await Promise.all(sandboxes.map((sb) => sb.stop()))
    rmSync(home, { recursive: true, force: true })
  }
  try {
    const started = await Promise.allSettled(
      Array.from({ length: o.n }, () => startSandbox({ nodes: o.nodes ?? 1 })),
    )
    for (const s of started) if (s.status === 'fulfilled') sandboxes.push(s.value)
    for (const s of started) if (s.status === 'rejected') throw s.reason
    const names = sandboxes.map((_, i) => o.names?.[i] ?? `${o.prefix}-${i + 1}`)
    const work = join(home, 'work')
    mkdirSync(work)
    const merged: KubeconfigDoc = { clusters: [], users: [], contexts: [] }
    sandboxes.forEach((sb, i) => {
      const doc = parse(readFileSync(sb.kubeconfig, 'utf8')) as KubeconfigDoc
      const ctx = doc.contexts.find((c) => c.name === doc['current-context']) ?? doc.contexts[0]
      const name = names[i]
      merged.clusters.push({
        name,
        cluster: doc.clusters.find((c) => c.name === ctx.context.cluster)?.cluster ?? {},
      })
      merged.users.push({ name, user: doc.users.find((u) => u.name === ctx.context.user)?.user ?? {} })
      merged.contexts.push({ name, context: { cluster: name, user: name } })
    })
    let gone: string | undefined
    if (o.unreachable) {
      // the first cluster's CA and credentials, a loopback port nobody listens on
      gone = `${o.prefix}-gone`
      merged.clusters.push({
        name: gone,
        cluster: { ...merged.clusters[0].cluster, server: `https://127.0.0.1:${await freePort()}` },
      })
      merged.contexts.push({ name: gone, context: { cluster: gone, user: names[0] } })
    }
    merged['current-context'] = names[0]
    const kubeconfig = join(home, 'kubeconfig')
    writeFileSync(kubeconfig, stringify(merged), { mode: 0o600 })
    const env = { ...sandboxes[0].env, EDGECANARY_HOME: home, KUBECONFIG: kubeconfig, HOME: home }
    const replicas = o.replicas ?? 2
    const source = join(repoRoot, 'sample-app')
    const queue = [...sandboxes]
    const initOne = async () => {
      for (let sb = queue.shift(); sb; sb = queue.shift()) {
        const dir = join(sb.home, 'work')
        mkdirSync(dir, { recursive: true })
        const r = await runCli(
          ['init', '--version', o.version ?? '1.0', '--replicas', String(replicas), '--source', source],
          { env: sb.env, cwd: dir, timeoutMs: 300_000 },
        )
        if (r.status !== 0) throw new Error(`init failed: ${r.stderr}`)
      }
    }
    await Promise.all(Array.from({ length: Math.min(o.inits ?? o.n, o.n) }, initOne))
    writeFileSync(
      join(work, 'edgecanary.yaml'),
      stringify({ app: 'kubeapp', namespace: 'production', replicas, source }),
    )
    return { sandboxes, names, gone, kubeconfig, home, work, env, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
