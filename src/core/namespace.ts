/** Where a command's namespace came from, in precedence order. */
export type NamespaceSource = 'flag' | 'config' | 'context' | 'labels' | 'default'

/**
 * The namespace a command uses, by kubectl-like precedence: `-n` flag > edgecanary.yaml >
 * the kubeconfig context's `namespace:` > the namespaces where the app's release was found by
 * its labels (one: use it; several: ambiguous) > the config default. `labels` is only asked
 * for when nothing before it decided (it costs a list across namespaces).
 *
 *   pickNamespace({ flag: 'a', config: 'b', context: 'c', fallback: 'production' }) → { namespace: 'a', source: 'flag' }
 *   pickNamespace({ context: 'staging', fallback: 'production' }) → { namespace: 'staging', source: 'context' }
 *   pickNamespace({ labels: ['x', 'y'], fallback: 'production' }) → { ambiguous: ['x', 'y'] }
 */
export function pickNamespace(o: {
  flag?: string
  config?: string
  context?: string
  labels?: string[]
  fallback: string
}): { namespace: string; source: NamespaceSource } | { ambiguous: string[] } {
  if (o.flag) return { namespace: o.flag, source: 'flag' }
  if (o.config) return { namespace: o.config, source: 'config' }
  if (o.context) return { namespace: o.context, source: 'context' }
  const found = [...new Set(o.labels ?? [])].sort()
  if (found.length > 1) return { ambiguous: found }
  if (found.length === 1) return { namespace: found[0], source: 'labels' }
  return { namespace: o.fallback, source: 'default' }
}
