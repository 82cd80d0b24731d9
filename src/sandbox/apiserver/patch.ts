import { applyJsonPatch, JsonPatchApplyError } from '../../core/json-patch.js'
import { badRequest, patchNotApplied } from '../api-errors.js'

type Json = unknown
type Obj = Record<string, unknown>

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * RFC 7386 JSON merge patch: objects merge, `null` deletes, everything else replaces.
 *
 *   mergePatch({ spec: { replicas: 3, paused: true } }, { spec: { replicas: 5, paused: null } })
 *   → { spec: { replicas: 5 } }
 */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) return patch
  const out: Obj = isObj(target) ? { ...target } : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
}

/** List merge keys of the strategic merge patch, by field name (the fields kubectl touches). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  ports: 'containerPort',
  conditions: 'type',
  readinessGates: 'conditionType',
  imagePullSecrets: 'name',
}

/**
 * Strategic merge patch for the fields kubectl and edgecanary use: lists with a merge key
 * (containers and env by name, ports by containerPort, …) merge element-wise;
 * `$setElementOrder/<list>`, `$patch: delete|replace` and `$retainKeys` are interpreted and
 * never stored; `$deleteFromPrimitiveList/<list>` removes values.
 *
 *   strategicMergePatch({ containers: [{ name: 'a', image: '1' }, { name: 'b', image: '1' }] },
 *                       { containers: [{ name: 'b', image: '2' }] })
 *   → { containers: [{ name: 'a', image: '1' }, { name: 'b', image: '2' }] }
 */
export function strategicMergePatch(target: Json, patch: Json, field = ''): Json {
  if (!isObj(patch)) return patch
  if (patch.$patch === 'replace') {
    const { $patch: _, ...rest } = patch
    return stripDirectives(rest)
  }
  if (patch.$patch === 'delete') return undefined
  let out: Obj = isObj(target) ? { ...target } : {}
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys as string[])
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)))
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$setElementOrder/') || k === '$retainKeys' || k === '$patch') continue
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const list = k.slice('$deleteFromPrimitiveList/'.length)
      if (Array.isArray(out[list]) && Array.isArray(v))
        out[list] = (out[list] as Json[]).filter((x) => !v.includes(x))
      continue
    }
    if (v === null) {
      delete out[k]
      continue
    }
    const key = MERGE_KEYS[k]
    if (Array.isArray(v) && key && Array.isArray(out[k])) {
      out[k] = mergeList(out[k] as Json[], v, key, patch[`$setElementOrder/${k}`] as Obj[] | undefined, k)
    } else if (Array.isArray(v)) {
      out[k] = v.map((x) => stripDirectives(x))
    } else {
      const merged = strategicMergePatch(out[k], v, k)
      if (merged === undefined) delete out[k]
      else out[k] = merged
    }
  }
  void field
  return out
}

function mergeList(
  base: Json[],
  patch: Json[],
  key: string,
  order: Obj[] | undefined,
  field: string,
): Json[] {
  const out = [...base]
  for (const item of patch) {
    if (!isObj(item)) continue
    const idx = out.findIndex((x) => isObj(x) && x[key] === item[key])
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1)
      continue
    }
    if (idx >= 0) out[idx] = strategicMergePatch(out[idx], item, field)
    else out.push(stripDirectives(item))
  }
  if (order) {
    const rank = (x: Json) => {
      const i = order.findIndex((o) => isObj(x) && o[key] === x[key])
      return i < 0 ? order.length : i
    }
    out.sort((a, b) => rank(a) - rank(b))
  }
  return out
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives)
  if (!isObj(v)) return v
  return Object.fromEntries(
    Object.entries(v)
      .filter(([k]) => !k.startsWith('$'))
      .map(([k, x]) => [k, stripDirectives(x)]),
  )
}

/**
 * RFC 6902 JSON patch as kube-apiserver applies it: a patch that is not a list is a 400; one that
 * does not apply (a failed test, a missing path, a bad index, `__proto__`) is its 422.
 *
 *   jsonPatch({ spec: { replicas: 3 } }, [{ op: 'replace', path: '/spec/replicas', value: 5 }]) → { spec: { replicas: 5 } }
 */
export function jsonPatch(doc: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw badRequest('a JSON patch must be an array of operations')
  try {
    return applyJsonPatch(doc, ops)
  } catch (err) {
    if (err instanceof JsonPatchApplyError) throw patchNotApplied(err.message)
    throw err
  }
}
