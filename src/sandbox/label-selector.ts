/** A parsed label selector requirement. */
export interface Requirement {
  key: string
  op: 'in' | 'notin' | 'exists' | '!exists'
  values: string[]
}

/**
 * Parses Kubernetes label selector text: `=`, `==`, `!=`, `in`, `notin`, `key`, `!key`;
 * comma means AND.
 *
 *   parseSelector('app=kubeapp,track!=canary') →
 *     [{ key: 'app', op: 'in', values: ['kubeapp'] }, { key: 'track', op: 'notin', values: ['canary'] }]
 *   parseSelector('env in (a, b),!x') → [{ key: 'env', op: 'in', values: ['a', 'b'] }, { key: 'x', op: '!exists', values: [] }]
 */
export function parseSelector(text: string | undefined): Requirement[] {
  if (!text?.trim()) return []
  const parts: string[] = []
  let depth = 0
  let cur = ''
  for (const ch of text) {
    if (ch === '(') depth++
    if (ch === ')') depth--
    if (ch === ',' && depth === 0) {
      parts.push(cur)
      cur = ''
    } else cur += ch
  }
  parts.push(cur)
  return parts.map((raw) => {
    const p = raw.trim()
    let m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p)
    if (m) {
      return {
        key: m[1],
        op: m[2] as 'in' | 'notin',
        values: m[3]
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean),
      }
    }
    m = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(p)
    if (m) return { key: m[1], op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]] }
    if (p.startsWith('!')) return { key: p.slice(1).trim(), op: '!exists', values: [] }
    if (/^[^\s=!()]+$/.test(p)) return { key: p, op: 'exists', values: [] }
    throw new Error(`unable to parse requirement: "${p}"`)
  })
}

/**
 * Whether labels satisfy every requirement.
 *
 *   matches({ app: 'kubeapp' }, parseSelector('app=kubeapp,!track')) → true
 */
export function matches(labels: Record<string, string> | undefined, reqs: Requirement[]): boolean {
  const l = labels ?? {}
  return reqs.every((r) => {
    const has = Object.hasOwn(l, r.key)
    switch (r.op) {
      case 'in':
        return has && r.values.includes(l[r.key])
      case 'notin':
        return !has || !r.values.includes(l[r.key])
      case 'exists':
        return has
      default:
        return !has
    }
  })
}

export interface LabelSelectorObject {
  matchLabels?: Record<string, string>
  matchExpressions?: { key: string; operator: string; values?: string[] }[]
}

/**
 * Requirements of a LabelSelector object (Deployment/ReplicaSet `spec.selector`).
 *
 *   fromSelectorObject({ matchLabels: { app: 'a' } }) → [{ key: 'app', op: 'in', values: ['a'] }]
 */
export function fromSelectorObject(sel: LabelSelectorObject | undefined): Requirement[] {
  const out: Requirement[] = Object.entries(sel?.matchLabels ?? {}).map(([key, v]) => ({
    key,
    op: 'in',
    values: [v],
  }))
  for (const e of sel?.matchExpressions ?? []) {
    const op =
      e.operator === 'In'
        ? 'in'
        : e.operator === 'NotIn'
          ? 'notin'
          : e.operator === 'Exists'
            ? 'exists'
            : '!exists'
    out.push({ key: e.key, op, values: e.values ?? [] })
  }
  return out
}

/** `{a: '1', b: '2'}` → `a=1,b=2`. */
export function selectorText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',')
}
