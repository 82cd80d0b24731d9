import { applyJsonPatch, JsonPatchApplyError } from '../../core/json-patch.js'
import { badRequest, patchNotApplied } from '../api-errors.js'
import { type FieldDef, jsonFields, messageDef, SPECIAL } from './kube-schema.js'

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

/** The message of a field's values when they are objects of the schema, else undefined. */
function elementMessage(f: FieldDef | undefined): string | undefined {
  const t = f?.type
  return t && !f?.map && messageDef(t) && !SPECIAL.has(t) ? t : undefined
}

/**
 * Strategic merge patch with the patch strategies and merge keys of the kind's schema
 * (`x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key`, from generated.proto's
 * `+patchStrategy` / `+patchMergeKey`): a list with strategy `merge` and a key merges element
 * by key (containers by name, Service ports by port, container ports by containerPort), one
 * with `merge` and no key is a set (metadata.finalizers), every other list is replaced;
 * `$setElementOrder/<list>`, `$patch: delete|replace`, `$retainKeys` and
 * `$deleteFromPrimitiveList/<list>` are interpreted and never stored. Without a schema
 * (`message` undefined) lists are replaced, as for a merge patch.
 *
 *   strategicMergePatch({ spec: { ports: [{ port: 80, name: 'http' }] } },
 *                       { spec: { ports: [{ port: 443, name: 'https' }] } }, 'k8s.io.api.core.v1.Service')
 *   → { spec: { ports: [{ port: 80, name: 'http' }, { port: 443, name: 'https' }] } }
 */
export function strategicMergePatch(target: Json, patch: Json, message?: string): Json {
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
  const fields = message ? jsonFields(message) : undefined
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
    const f = fields?.get(k)?.f
    const order = patch[`$setElementOrder/${k}`] as Json[] | undefined
    if (Array.isArray(v) && f?.repeated && f.patchStrategy?.split(',').includes('merge')) {
      const base = Array.isArray(out[k]) ? (out[k] as Json[]) : []
      out[k] = f.patchMergeKey
        ? mergeList(base, v, f.patchMergeKey, order as Obj[] | undefined, elementMessage(f))
        : mergeSet(base, v, order)
    } else if (Array.isArray(v)) {
      out[k] = v.map((x) => stripDirectives(x))
    } else {
      const merged = strategicMergePatch(out[k], v, elementMessage(f))
      if (merged === undefined) delete out[k]
      else out[k] = merged
    }
  }
  return out
}

/** A list of primitives with strategy merge: a set, new values appended, `$setElementOrder` ordering. */
function mergeSet(base: Json[], patch: Json[], order: Json[] | undefined): Json[] {
  const out = [...base]
  for (const x of patch) if (!out.includes(x)) out.push(x)
  if (order) {
    const rank = (x: Json) => {
      const i = order.indexOf(x)
      return i < 0 ? order.length : i
    }
    out.sort((a, b) => rank(a) - rank(b))
  }
  return out
}

function mergeList(
  base: Json[],
  patch: Json[],
  key: string,
  order: Obj[] | undefined,
  element: string | undefined,
): Json[] {
  const out = [...base]
  for (const item of patch) {
    if (!isObj(item)) continue
    const idx = out.findIndex((x) => isObj(x) && x[key] === item[key])
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1)
      continue
    }
    if (idx >= 0) out[idx] = strategicMergePatch(out[idx], item, element)
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
