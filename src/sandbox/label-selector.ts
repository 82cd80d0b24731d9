/** A parsed label selector requirement. */
export interface Requirement {
  key: string
  op: 'in' | 'notin' | 'exists' | '!exists' | 'gt' | 'lt'
  values: string[]
}

/** Label selector text that does not parse: the message is the one apimachinery's parser gives. */
export class SelectorSyntaxError extends Error {}

type Tok = 'id' | 'end' | ',' | '(' | ')' | '!' | '=' | '==' | '!=' | 'in' | 'notin' | '>' | '<' | 'error'
const SYMBOLS = new Set(['=', '!', '(', ')', ',', '>', '<'])
const SYMBOL_TOKENS = new Set(['(', ')', ',', '!', '==', '=', '>', '<', '!='])
const WHITE = /[ \t\r\n]/

/** apimachinery's label selector lexer: identifiers run to whitespace or an operator symbol. */
function lex(s: string): { tok: Tok; lit: string }[] {
  const out: { tok: Tok; lit: string }[] = []
  let i = 0
  for (;;) {
    while (i < s.length && WHITE.test(s[i])) i++
    if (i >= s.length) {
      out.push({ tok: 'end', lit: '' })
      return out
    }
    if (SYMBOLS.has(s[i])) {
      let buf = ''
      let last: string | undefined
      while (i < s.length && SYMBOLS.has(s[i])) {
        buf += s[i]
        if (SYMBOL_TOKENS.has(buf)) last = buf
        else if (last !== undefined) break
        i++
      }
      if (last === undefined) out.push({ tok: 'error', lit: `error expected: keyword found '${buf}'` })
      else out.push({ tok: last as Tok, lit: last })
      continue
    }
    let buf = ''
    while (i < s.length && !SYMBOLS.has(s[i]) && !WHITE.test(s[i])) buf += s[i++]
    out.push({ tok: buf === 'in' || buf === 'notin' ? buf : 'id', lit: buf })
  }
}

/**
 * Parses Kubernetes label selector text with apimachinery's grammar (`labels.Parse`): `=`, `==`,
 * `!=`, `in`, `notin`, `>`, `<`, `key`, `!key`; comma means AND. Text it cannot parse throws a
 * SelectorSyntaxError with apimachinery's message (the API server answers it as a 400).
 *
 *   parseSelector('app=kubeapp,track!=canary') →
 *     [{ key: 'app', op: 'in', values: ['kubeapp'] }, { key: 'track', op: 'notin', values: ['canary'] }]
 *   parseSelector('env in (a, b),!x') → [{ key: 'env', op: 'in', values: ['a', 'b'] }, { key: 'x', op: '!exists', values: [] }]
 *   parseSelector('a in b') → throws "unable to parse requirement: found 'b' expected: '('"
 */
export function parseSelector(text: string | undefined): Requirement[] {
  if (!text?.trim()) return []
  const items = lex(text)
  let pos = 0
  // in Values context `in` and `notin` are plain identifiers, as in apimachinery
  const look = (values = true) => {
    const it = items[pos]
    return values && (it.tok === 'in' || it.tok === 'notin') ? { tok: 'id' as Tok, lit: it.lit } : it
  }
  const take = (values = true) => {
    const it = look(values)
    pos++
    return it
  }
  const fail = (m: string): never => {
    throw new SelectorSyntaxError(m)
  }
  const requirement = (): Requirement => {
    let t = take()
    let negated = false
    if (t.tok === '!') {
      negated = true
      t = take()
    }
    if (t.tok !== 'id') fail(`found '${t.lit}', expected: identifier`)
    const key = t.lit
    const next = look().tok
    if (negated || next === 'end' || next === ',') {
      if (negated && next !== 'end' && next !== ',')
        fail(`found '${look().lit}', expected: ',' or 'end of string'`)
      return { key, op: negated ? '!exists' : 'exists', values: [] }
    }
    const op = take(false)
    switch (op.tok) {
      case 'in':
      case 'notin': {
        const open = take()
        if (open.tok !== '(') fail(`found '${open.lit}' expected: '('`)
        const values = new Set<string>()
        if (look().tok === ')') {
          take()
          return { key, op: op.tok, values: [''] }
        }
        for (;;) {
          const v = take()
          if (v.tok === 'id') values.add(v.lit)
          else if (v.tok === ',') {
            values.add('')
            continue
          } else fail(`found '${v.lit}', expected: ',', or identifier`)
          const after = look()
          if (after.tok === ')') {
            take()
            break
          }
          if (after.tok !== ',') fail(`found '${after.lit}', expected: ',' or ')'`)
          take()
          if (look().tok === ')') {
            values.add('')
            take()
            break
          }
        }
        return { key, op: op.tok, values: [...values].sort() }
      }
      case '=':
      case '==':
      case '!=':
      case '>':
      case '<': {
        const v = look()
        let value = ''
        if (v.tok !== 'end' && v.tok !== ',') {
          take()
          if (v.tok !== 'id') fail(`found '${v.lit}', expected: identifier`)
          value = v.lit
        }
        if ((op.tok === '>' || op.tok === '<') && !/^-?\d+$/.test(value))
          fail(`for 'Gt', 'Lt' operators, the value must be an integer`)
        const kind = op.tok === '!=' ? 'notin' : op.tok === '>' ? 'gt' : op.tok === '<' ? 'lt' : 'in'
        return { key, op: kind, values: [value] }
      }
      default:
        return fail(`found '${op.lit}', expected: in, notin, =, ==, !=, gt, lt`)
    }
  }
  const out: Requirement[] = []
  for (;;) {
    const t = look()
    if (t.tok === 'end') return out
    if (t.tok !== 'id' && t.tok !== '!') fail(`found '${t.lit}', expected: !, identifier, or 'end of string'`)
    try {
      out.push(requirement())
    } catch (err) {
      throw new SelectorSyntaxError(`unable to parse requirement: ${(err as Error).message}`)
    }
    const sep = take()
    if (sep.tok === 'end') return out
    if (sep.tok !== ',') fail(`found '${sep.lit}', expected: ',' or 'end of string'`)
    const n = look()
    if (n.tok !== 'id' && n.tok !== '!') fail(`found '${n.lit}', expected: identifier after ','`)
  }
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
      case 'gt':
      case 'lt': {
        const n = Number(l[r.key])
        if (!has || !Number.isInteger(n)) return false
        return r.op === 'gt' ? n > Number(r.values[0]) : n < Number(r.values[0])
      }
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
  const ops: Record<string, Requirement['op']> = {
    In: 'in',
    NotIn: 'notin',
    Exists: 'exists',
    DoesNotExist: '!exists',
  }
  for (const e of sel?.matchExpressions ?? []) {
    const op = ops[e.operator]
    // validation refuses other operators (selectorProblems); an unknown one never matches anything
    if (!op) return [{ key: e.key, op: 'in', values: [] }]
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

/**
 * What kube-apiserver's validation says of a LabelSelector object (ValidateLabelSelector):
 * operators are `In`, `NotIn`, `Exists`, `DoesNotExist`, with values exactly for the first two.
 *
 *   selectorProblems({ matchExpressions: [{ key: 'a', operator: 'in', values: ['x'] }] }, 'spec.selector')
 *   → [{ field: 'spec.selector.matchExpressions[0].operator', reason: 'FieldValueInvalid',
 *        message: 'Invalid value: "in": not a valid selector operator' }]
 */
export function selectorProblems(
  sel: LabelSelectorObject | undefined,
  path: string,
): { field: string; reason: string; message: string }[] {
  const out: { field: string; reason: string; message: string }[] = []
  ;(sel?.matchExpressions ?? []).forEach((e, i) => {
    const at = `${path}.matchExpressions[${i}]`
    const n = e.values?.length ?? 0
    if (e.operator === 'In' || e.operator === 'NotIn') {
      if (n === 0)
        out.push({
          field: `${at}.values`,
          reason: 'FieldValueRequired',
          message: "Required value: must be specified when `operator` is 'In' or 'NotIn'",
        })
    } else if (e.operator === 'Exists' || e.operator === 'DoesNotExist') {
      if (n > 0)
        out.push({
          field: `${at}.values`,
          reason: 'FieldValueForbidden',
          message: "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        })
    } else
      out.push({
        field: `${at}.operator`,
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${JSON.stringify(e.operator)}: not a valid selector operator`,
      })
  })
  return out
}
