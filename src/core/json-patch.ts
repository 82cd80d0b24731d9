import fastJsonPatch from 'fast-json-patch'

/** One RFC 6902 operation, as the API server takes them with `application/json-patch+json`. */
export type JsonPatchOp =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'test'; path: string; value: unknown }
  | { op: 'move'; from: string; path: string }
  | { op: 'copy'; from: string; path: string }

/** A JSON patch that does not apply to the document; the message names the operation and path. */
export class JsonPatchApplyError extends Error {}

/**
 * Applies an RFC 6902 JSON patch with fast-json-patch (validated, on a copy, `__proto__` and
 * `constructor/prototype` refused), all or nothing: `test` compares deeply (key order does not
 * matter), an array index must be a number no greater than the length (`-` appends), and
 * `remove`, `replace`, `move` and `copy` of a path that is not there fail. The messages follow
 * evanphx/json-patch, which kube-apiserver uses.
 *
 *   applyJsonPatch({ a: [1] }, [{ op: 'add', path: '/a/-', value: 2 }]) → { a: [1, 2] }
 *   applyJsonPatch({ a: 1 }, [{ op: 'remove', path: '/b' }])
 *     → throws 'remove operation does not apply: doc is missing path: "/b": missing value'
 */
export function applyJsonPatch(doc: unknown, ops: readonly unknown[]): unknown {
  try {
    return fastJsonPatch.applyPatch(
      doc,
      ops as fastJsonPatch.Operation[],
      true, // validate each operation
      false, // leave the input alone
      true, // refuse __proto__ and constructor/prototype
    ).newDocument
  } catch (err) {
    if (err instanceof fastJsonPatch.JsonPatchError) {
      const op = (err.operation ?? {}) as { op?: string; path?: string; from?: string }
      const path = JSON.stringify(op.path ?? '')
      switch (err.name) {
        case 'TEST_OPERATION_FAILED':
          throw new JsonPatchApplyError(`testing value ${op.path} failed: test failed`)
        case 'OPERATION_PATH_UNRESOLVABLE':
        case 'OPERATION_PATH_CANNOT_ADD':
          throw new JsonPatchApplyError(
            `${op.op} operation does not apply: doc is missing path: ${path}: missing value`,
          )
        case 'OPERATION_FROM_UNRESOLVABLE':
          throw new JsonPatchApplyError(
            `${op.op} operation does not apply: doc is missing from path: ${JSON.stringify(op.from ?? '')}: missing value`,
          )
        case 'OPERATION_PATH_ILLEGAL_ARRAY_INDEX':
        case 'OPERATION_VALUE_OUT_OF_BOUNDS':
          throw new JsonPatchApplyError(
            `${op.op} operation does not apply: doc is missing path: ${path}: invalid index referenced`,
          )
        default:
          throw new JsonPatchApplyError(`${err.name}: ${err.message.split('\n')[0]}`)
      }
    }
    if (err instanceof TypeError && /__proto__/.test(err.message))
      throw new JsonPatchApplyError('modifying `__proto__` or `constructor/prototype` is not allowed')
    throw err
  }
}

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
