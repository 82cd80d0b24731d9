import { parse, stringify } from 'yaml'

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

function upsert(list: Named<unknown>[] | undefined, items: Named<unknown>[]): Named<unknown>[] {
  const out = [...(list ?? [])]
  for (const item of items) {
    const i = out.findIndex((x) => x.name === item.name)
    if (i >= 0) out[i] = item
    else out.push(item)
  }
  return out
}

/**
 * Merges the clusters, users and contexts of `incoming` into `existing` (by name, replacing
 * same-named entries, keeping everything else), optionally making `makeCurrent` the current
 * context — what `kind` and `k3d` do with their kubeconfig.
 *
 *   mergeKubeconfig('', sandboxYaml, { makeCurrent: 'edgecanary-sandbox' })
 *   → YAML with the sandbox entries and current-context: edgecanary-sandbox
 */
export function mergeKubeconfig(
  existing: string,
  incoming: string,
  opts: { makeCurrent?: string } = {},
): string {
  const a = load(existing)
  const b = load(incoming)
  const out: KubeconfigDoc = {
    ...a,
    apiVersion: a.apiVersion ?? 'v1',
    kind: a.kind ?? 'Config',
    clusters: upsert(a.clusters, b.clusters ?? []),
    users: upsert(a.users, b.users ?? []),
    contexts: upsert(a.contexts, b.contexts ?? []),
    preferences: a.preferences ?? {},
  }
  if (opts.makeCurrent) out['current-context'] = opts.makeCurrent
  return stringify(out)
}

/**
 * Removes a context and the cluster and user it names (when no other context uses them);
 * clears current-context if it pointed there.
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
  const out: KubeconfigDoc = {
    ...a,
    contexts,
    clusters: (a.clusters ?? []).filter((c) => c.name !== ctx.context?.cluster || used('cluster', c.name)),
    users: (a.users ?? []).filter((u) => u.name !== ctx.context?.user || used('user', u.name)),
  }
  if (out['current-context'] === name) out['current-context'] = ''
  return { yaml: stringify(out), removed: true }
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
