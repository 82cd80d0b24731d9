/** One RFC 6902 operation, as the API server takes them with `application/json-patch+json`. */
export type JsonPatchOp =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'test'; path: string; value: unknown }

/** `edgecanary.dev/epoch` → `edgecanary.dev~1epoch`: a key as one JSON-pointer segment (RFC 6901). */
export function pointerSegment(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1')
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * The JSON patch that does what an RFC 7386 merge patch does, on a document in which every
 * object the merge patch descends into already exists: a value (or a list) is set with `add`,
 * which replaces a member that is there; `null` removes a member with `add` then `remove`, so it
 * also holds when the member is absent. A path whose parent is missing makes the API server
 * refuse the whole patch (422), and nothing is written.
 *
 *   mergeToJsonPatch({ spec: { replicas: 0 } })
 *     → [{ op: 'add', path: '/spec/replicas', value: 0 }]
 *   mergeToJsonPatch({ metadata: { annotations: { 'edgecanary.dev/request': null } } })
 *     → [{ op: 'add', path: '/metadata/annotations/edgecanary.dev~1request', value: null },
 *        { op: 'remove', path: '/metadata/annotations/edgecanary.dev~1request' }]
 */
export function mergeToJsonPatch(patch: Record<string, unknown>, at = ''): JsonPatchOp[] {
  return Object.entries(patch).flatMap(([key, value]): JsonPatchOp[] => {
    const path = `${at}/${pointerSegment(key)}`
    if (value === null)
      return [
        { op: 'add', path, value: null },
        { op: 'remove', path },
      ]
    if (isObject(value)) return mergeToJsonPatch(value, path)
    if (value === undefined) return []
    return [{ op: 'add', path, value }]
  })
}
