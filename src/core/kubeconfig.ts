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
