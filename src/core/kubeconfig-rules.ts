import { dirname, isAbsolute, join, resolve } from 'node:path'
import { parse } from 'yaml'

/** One named entry of a kubeconfig list (`clusters`, `users`, `contexts`), with the file it came from. */
export interface KubeconfigEntry {
  name: string
  /** The entry's body (`cluster:`, `user:` or `context:`), as written. */
  body: Record<string, unknown>
  /** The file that defined it: relative paths inside it are relative to this file's directory. */
  origin: string
}

/** The kubeconfig files merged by kubectl's loading rules. */
export interface MergedKubeconfig {
  clusters: Map<string, KubeconfigEntry>
  users: Map<string, KubeconfigEntry>
  contexts: Map<string, KubeconfigEntry>
  /** The first non-empty `current-context` of the files, in order; '' when none sets it. */
  currentContext: string
  /** Where `current-context` was set ('' when nowhere). */
  currentContextOrigin: string
}

/** A file kubectl would read: its path, and its text (undefined when it does not exist). */
export interface KubeconfigFile {
  path: string
  text: string | undefined
}

const LISTS = [
  ['clusters', 'cluster'],
  ['users', 'user'],
  ['contexts', 'context'],
] as const

/**
 * The files kubectl reads, in precedence order (client-go's `ClientConfigLoadingRules`):
 * `--kubeconfig` alone when given (it must exist); else every path of `$KUBECONFIG` (split on
 * ':', empty entries and repeats dropped; missing files are skipped later); else
 * `~/.kube/config`. `explicit` says the one file came from the flag.
 *
 *   kubeconfigLoadOrder({ env: { KUBECONFIG: 'a::b:a' }, home: '/h' }) → { paths: ['a', 'b'], explicit: false, fromEnv: true }
 *   kubeconfigLoadOrder({ flag: 'k', env: { KUBECONFIG: 'a' }, home: '/h' }) → { paths: ['k'], explicit: true, fromEnv: false }
 *   kubeconfigLoadOrder({ env: {}, home: '/h' }) → { paths: ['/h/.kube/config'], explicit: false, fromEnv: false }
 */
export function kubeconfigLoadOrder(o: { flag?: string; env: { KUBECONFIG?: string }; home: string }): {
  paths: string[]
  explicit: boolean
  fromEnv: boolean
} {
  if (o.flag) return { paths: [o.flag], explicit: true, fromEnv: false }
  const listed = [...new Set((o.env.KUBECONFIG ?? '').split(':').filter(Boolean))]
  if (listed.length > 0) return { paths: listed, explicit: false, fromEnv: true }
  return { paths: [join(o.home, '.kube', 'config')], explicit: false, fromEnv: false }
}

function record(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
}

/**
 * Reads one kubeconfig file's lists into maps by name, refusing what kubectl refuses: a
 * document that is not a mapping, a list that is not a list, an entry without a string name,
 * or one name twice in the same list of the same file.
 */
export function readKubeconfigText(
  text: string,
  origin: string,
): { lists: Record<'clusters' | 'users' | 'contexts', KubeconfigEntry[]>; currentContext: string } {
  const doc = text.trim() ? (parse(text) as unknown) : {}
  const top = doc === null ? {} : record(doc)
  if (!top) throw new Error(`${origin} is not a YAML mapping`)
  const lists = { clusters: [], users: [], contexts: [] } as Record<
    'clusters' | 'users' | 'contexts',
    KubeconfigEntry[]
  >
  for (const [list, key] of LISTS) {
    const items = top[list] ?? []
    if (!Array.isArray(items)) throw new Error(`${origin}: ${list} is not a list`)
    const seen = new Set<string>()
    for (const item of items) {
      const it = record(item)
      if (!it || typeof it.name !== 'string') throw new Error(`${origin}: an entry of ${list} has no name`)
      if (seen.has(it.name)) throw new Error(`${origin}: duplicate name "${it.name}" in ${list}`)
      seen.add(it.name)
      lists[list].push({ name: it.name, body: record(it[key]) ?? {}, origin })
    }
  }
  const cc = top['current-context']
  return { lists, currentContext: typeof cc === 'string' ? cc : '' }
}

/**
 * Merges kubeconfig files as kubectl does: for clusters, users and contexts the FIRST file
 * that defines a name wins (the whole entry; later files never change it), and the first
 * non-empty `current-context` wins. Files that do not exist are skipped.
 *
 *   a: clusters [c → https://a], current-context: x     b: clusters [c → https://b, d → https://d], current-context: y
 *   mergeKubeconfigFiles([a, b]) → clusters c → https://a (from a), d → https://d (from b); currentContext 'x'
 */
export function mergeKubeconfigFiles(files: KubeconfigFile[]): MergedKubeconfig {
  const out: MergedKubeconfig = {
    clusters: new Map(),
    users: new Map(),
    contexts: new Map(),
    currentContext: '',
    currentContextOrigin: '',
  }
  for (const f of files) {
    if (f.text === undefined) continue
    const one = readKubeconfigText(f.text, f.path)
    for (const [list] of LISTS) {
      for (const e of one.lists[list]) if (!out[list].has(e.name)) out[list].set(e.name, e)
    }
    if (!out.currentContext && one.currentContext) {
      out.currentContext = one.currentContext
      out.currentContextOrigin = f.path
    }
  }
  return out
}

/** What a command talks to: the context, its cluster and user entries, and its namespace. */
export interface ResolvedKubeconfig {
  context: string
  cluster: KubeconfigEntry
  user: KubeconfigEntry | undefined
  namespace: string | undefined
}

/**
 * Picks the context (`--context`, else current-context) from merged kubeconfig files and the
 * cluster and user it names. Returns a reason instead when kubectl would fail.
 *
 *   resolveKubeconfig(merged, 'prod') → { context: 'prod', cluster: {name: 'pi', …}, user: {name: 'admin', …}, namespace: 'production' }
 *   resolveKubeconfig(mergedWithoutCurrent) → { error: 'no-current-context' }
 */
export function resolveKubeconfig(
  merged: MergedKubeconfig,
  contextFlag?: string,
):
  | ResolvedKubeconfig
  | { error: 'no-current-context' | 'unknown-context' | 'unknown-cluster'; name?: string } {
  const name = contextFlag || merged.currentContext
  if (!name) return { error: 'no-current-context' }
  const ctx = merged.contexts.get(name)
  if (!ctx) return { error: 'unknown-context', name }
  const clusterName = typeof ctx.body.cluster === 'string' ? ctx.body.cluster : ''
  const cluster = merged.clusters.get(clusterName)
  if (!cluster || typeof cluster.body.server !== 'string')
    return { error: 'unknown-cluster', name: clusterName }
  const userName = typeof ctx.body.user === 'string' ? ctx.body.user : ''
  const ns = ctx.body.namespace
  return {
    context: name,
    cluster,
    user: merged.users.get(userName),
    namespace: typeof ns === 'string' && ns ? ns : undefined,
  }
}

const PATH_FIELDS = {
  cluster: ['certificate-authority'],
  user: ['client-certificate', 'client-key', 'tokenFile'],
} as const

/** A copy of the entry's body with kubectl's file references made absolute against its file's directory. */
export function absolutePaths(kind: 'cluster' | 'user', e: KubeconfigEntry): Record<string, unknown> {
  const dir = resolve(dirname(e.origin))
  const out: Record<string, unknown> = { ...e.body }
  for (const f of PATH_FIELDS[kind]) {
    const v = out[f]
    if (typeof v === 'string' && v && !isAbsolute(v)) out[f] = resolve(dir, v)
  }
  const exec = record(out.exec)
  // kubectl resolves an exec command only when it is a path, not a name looked up on PATH
  if (kind === 'user' && exec && typeof exec.command === 'string' && exec.command.includes('/')) {
    if (!isAbsolute(exec.command)) out.exec = { ...exec, command: resolve(dir, exec.command) }
  }
  return out
}

/**
 * One self-contained kubeconfig object holding only the resolved context, its cluster and
 * user (file references absolute): what a client library that reads one file at a time
 * should be given, so it sees exactly what kubectl would use.
 *
 *   minifiedKubeconfig(resolveKubeconfig(merged)) → { apiVersion: 'v1', kind: 'Config', clusters: [one], users: [one], contexts: [one], 'current-context': name }
 */
export function minifiedKubeconfig(r: ResolvedKubeconfig): Record<string, unknown> {
  const userName = r.user?.name ?? ''
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: r.cluster.name, cluster: absolutePaths('cluster', r.cluster) }],
    users: r.user ? [{ name: r.user.name, user: absolutePaths('user', r.user) }] : [],
    contexts: [
      {
        name: r.context,
        context: {
          cluster: r.cluster.name,
          ...(r.user ? { user: userName } : {}),
          ...(r.namespace ? { namespace: r.namespace } : {}),
        },
      },
    ],
    'current-context': r.context,
  }
}
