import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  parse,
  parseDocument,
  stringify,
  type YAMLMap,
  YAMLSeq,
} from 'yaml'
import { type KubeconfigFile, mergeKubeconfigFiles } from './kubeconfig-rules.js'

interface Named<T> {
  name: string
  [k: string]: unknown
  _?: T
}

interface KubeconfigDoc {
  apiVersion?: string
  kind?: string
  clusters?: Named<unknown>[]
  users?: Named<unknown>[]
  contexts?: Named<unknown>[]
  'current-context'?: string
  preferences?: unknown
  [k: string]: unknown
}

function load(text: string): KubeconfigDoc {
  const doc = text.trim() ? (parse(text) as KubeconfigDoc | null) : null
  return doc ?? {}
}

type ListName = 'clusters' | 'users' | 'contexts'
const KEY: Record<ListName, string> = { clusters: 'cluster', users: 'user', contexts: 'context' }

/** The file as a YAML document whose top is a mapping (comments and unknown fields kept). */
function document(text: string): Document {
  const doc: Document = parseDocument(text)
  if (doc.errors.length > 0) throw new Error(doc.errors[0].message.split('\n')[0])
  if (!isMap(doc.contents)) {
    if (doc.contents !== null && !(isScalar(doc.contents) && doc.contents.value === null)) {
      throw new Error('it is not a YAML mapping')
    }
    doc.contents = doc.createNode({ apiVersion: 'v1', kind: 'Config', preferences: {} }) as YAMLMap
  }
  return doc
}

function itemName(item: unknown): unknown {
  return isMap(item) ? item.get('name') : undefined
}

/** Sets `name`'s entry in a list of the document: the body replaced in place, or a new item appended. */
function setEntry(doc: Document, list: ListName, name: string, body: unknown): void {
  let seq = doc.get(list)
  if (!isSeq(seq)) {
    seq = new YAMLSeq()
    doc.set(list, seq)
  }
  const s = seq as YAMLSeq
  const found = s.items.find((it) => itemName(it) === name)
  if (found && isMap(found)) found.set(KEY[list], doc.createNode(body))
  else {
    if (s.items.length === 0) s.flow = false
    s.items.push(doc.createNode({ name, [KEY[list]]: body }))
  }
}

/** Removes `name`'s entry from a list of the document; true when there was one. */
function deleteEntry(doc: Document, list: ListName, name: string): boolean {
  const seq = doc.get(list)
  if (!isSeq(seq)) return false
  const before = seq.items.length
  seq.items = seq.items.filter((it) => itemName(it) !== name)
  return seq.items.length !== before
}

/**
 * Merges the clusters, users and contexts of `incoming` into `existing` (by name, replacing
 * same-named entries, keeping everything else — comments and fields edgecanary does not know
 * included), optionally making `makeCurrent` the current context — what `kind` and `k3d` do
 * with their kubeconfig.
 *
 *   mergeKubeconfig('', sandboxYaml, { makeCurrent: 'edgecanary-sandbox' })
 *   → YAML with the sandbox entries and current-context: edgecanary-sandbox
 */
export function mergeKubeconfig(
  existing: string,
  incoming: string,
  opts: { makeCurrent?: string } = {},
): string {
  const doc = document(existing)
  const b = load(incoming)
  for (const list of ['clusters', 'users', 'contexts'] as const) {
    for (const e of b[list] ?? []) setEntry(doc, list, e.name, e[KEY[list]] ?? {})
  }
  if (opts.makeCurrent) doc.set('current-context', opts.makeCurrent)
  return doc.toString()
}

/**
 * Removes a context and the cluster and user it names (when no other context uses them);
 * clears current-context if it pointed there. Comments and other entries are kept.
 *
 *   removeContext(yamlWithSandbox, 'edgecanary-sandbox') → { yaml: '…', removed: true }
 */
export function removeContext(existing: string, name: string): { yaml: string; removed: boolean } {
  const a = load(existing)
  const ctx = (a.contexts ?? []).find((c) => c.name === name) as
    | { context?: { cluster?: string; user?: string } }
    | undefined
  if (!ctx) return { yaml: existing, removed: false }
  const contexts = (a.contexts ?? []).filter((c) => c.name !== name)
  const used = (key: 'cluster' | 'user', value?: string) =>
    contexts.some((c) => (c as { context?: Record<string, string> }).context?.[key] === value)
  const doc = document(existing)
  deleteEntry(doc, 'contexts', name)
  const cluster = ctx.context?.cluster
  const user = ctx.context?.user
  if (cluster && !used('cluster', cluster)) deleteEntry(doc, 'clusters', cluster)
  if (user && !used('user', user)) deleteEntry(doc, 'users', user)
  if (doc.get('current-context') === name) doc.set('current-context', '')
  return { yaml: doc.toString(), removed: true }
}

/** Where kubectl reads and writes: the files in precedence order, and whether they came from the flag or $KUBECONFIG. */
export interface KubeconfigFiles {
  files: KubeconfigFile[]
  explicit: boolean
  fromEnv: boolean
}

/**
 * The file kubectl writes a NEW entry or a new current-context to (client-go's
 * `GetDefaultFilename`): the `--kubeconfig` file; with `$KUBECONFIG`, its only path, else the
 * first path that exists, else the last; otherwise ~/.kube/config.
 *
 *   defaultWriteFile({ files: [{ path: 'a', text: undefined }, { path: 'b', text: '' }], explicit: false, fromEnv: true }) → 'b'
 */
export function defaultWriteFile(k: KubeconfigFiles): string {
  if (k.explicit || k.files.length === 1) return k.files[0].path
  return (k.files.find((f) => f.text !== undefined) ?? k.files[k.files.length - 1]).path
}

/**
 * The kubeconfig files a plan edits, each parsed once as it is first touched (comments and
 * unknown fields kept), and their new texts: only the files touched are written.
 */
function editedFiles(k: KubeconfigFiles): {
  doc: (path: string) => Document
  texts: () => Map<string, string>
} {
  const docs = new Map<string, Document>()
  const doc = (path: string) => {
    let d = docs.get(path)
    if (!d) {
      d = document(k.files.find((f) => f.path === path)?.text ?? '')
      docs.set(path, d)
    }
    return d
  }
  return { doc, texts: () => new Map([...docs].map(([p, d]) => [p, d.toString()])) }
}

/**
 * Plans the writes kubectl would make to merge `incoming`'s clusters, users and contexts and
 * switch to `makeCurrent` (`kubectl config set-cluster/set-credentials/set-context/use-context`):
 * an entry that already exists is changed in the file that defines it (the first, by the
 * loading rules); a new one goes to `defaultWriteFile`, as does the new current-context.
 * Returns the new text of each file that changes.
 *
 *   KUBECONFIG=a:b, b defines cluster s:  planKubeconfigMerge(files, sandboxYaml, 's')
 *   → Map { 'b' → b with cluster s replaced, 'a' → a with the user and context s added and current-context: s }
 */
export function planKubeconfigMerge(
  k: KubeconfigFiles,
  incoming: string,
  makeCurrent?: string,
): Map<string, string> {
  const merged = mergeKubeconfigFiles(k.files)
  const target = defaultWriteFile(k)
  const { doc, texts } = editedFiles(k)
  const b = load(incoming)
  for (const list of ['clusters', 'users', 'contexts'] as const) {
    for (const e of b[list] ?? []) {
      setEntry(doc(merged[list].get(e.name)?.origin ?? target), list, e.name, e[KEY[list]] ?? {})
    }
  }
  if (makeCurrent && merged.currentContext !== makeCurrent) doc(target).set('current-context', makeCurrent)
  return texts()
}

/**
 * Plans removing a context as kubectl's `delete-context` does (from the file that defines it),
 * with the cluster and user it names when no other context uses them, and clears the
 * current-context in the file that set it to this context. Empty map: nothing to remove.
 *
 *   planContextRemoval(files, 'edgecanary-sandbox') → Map { '/home/me/.kube/config' → text without it }
 */
export function planContextRemoval(k: KubeconfigFiles, name: string): Map<string, string> {
  const merged = mergeKubeconfigFiles(k.files)
  const ctx = merged.contexts.get(name)
  if (!ctx) return new Map()
  const { doc, texts } = editedFiles(k)
  deleteEntry(doc(ctx.origin), 'contexts', name)
  const others = [...merged.contexts.values()].filter((c) => c.name !== name)
  for (const [list, key] of [
    ['clusters', 'cluster'],
    ['users', 'user'],
  ] as const) {
    const ref = ctx.body[key]
    const entry = typeof ref === 'string' ? merged[list].get(ref) : undefined
    if (entry && !others.some((c) => c.body[key] === ref)) deleteEntry(doc(entry.origin), list, entry.name)
  }
  if (merged.currentContext === name) doc(merged.currentContextOrigin).set('current-context', '')
  return texts()
}

/**
 * Turns the kubeconfig k3s writes on its server (`/etc/rancher/k3s/k3s.yaml`: cluster, user
 * and context all named `default`, server `https://127.0.0.1:6443`) into one the laptop can
 * use: parsed as YAML (never string-replaced), the server's host rewritten to the address the
 * laptop reaches (the port kept), and every entry renamed to `name`. Throws when the text is
 * not such a kubeconfig.
 *
 *   adoptK3sKubeconfig(k3sYaml, { host: '10.0.0.10', name: 'edgecanary' })
 *   → clusters: [{ name: edgecanary, cluster: { server: https://10.0.0.10:6443, certificate-authority-data: … } }], …
 */
export function adoptK3sKubeconfig(text: string, o: { host: string; name: string }): string {
  const doc = load(text)
  const cluster = doc.clusters?.[0] as { cluster?: { server?: string } } | undefined
  const user = doc.users?.[0]
  if (!cluster?.cluster?.server || !user) throw new Error('it has no cluster with a server, or no user')
  const url = new URL(cluster.cluster.server)
  url.hostname = o.host.includes(':') ? `[${o.host}]` : o.host
  const out: KubeconfigDoc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: o.name, cluster: { ...cluster.cluster, server: url.origin } }],
    users: [{ ...user, name: o.name }],
    contexts: [{ name: o.name, context: { cluster: o.name, user: o.name } }],
    'current-context': o.name,
    preferences: {},
  }
  return stringify(out)
}
