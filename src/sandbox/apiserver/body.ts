import type { IncomingMessage } from 'node:http'
import { ApiStatusError, badRequest } from '../api-errors.js'

/** kube-apiserver's limit on a request body (3 MiB), answered with 413 before the rest is read. */
export const MAX_REQUEST_BYTES = 3 * 1024 * 1024

/**
 * How deep a request body may nest objects and arrays. Go's decoder allows 10000, which no
 * JavaScript recursion survives; no Kubernetes object comes near 100 (a probe header in a
 * Deployment is 10 deep).
 */
export const MAX_JSON_DEPTH = 100

/** 413 RequestEntityTooLarge, as kube-apiserver's limitedReadBody answers it. */
export function entityTooLarge(limit: number): ApiStatusError {
  return new ApiStatusError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `Request entity too large: limit is ${limit}`,
    reason: 'RequestEntityTooLarge',
    code: 413,
  })
}

/**
 * Reads a request body, at most `limit` bytes: a larger Content-Length is refused before
 * anything is read, and a body that grows past the limit while it streams is refused as soon as
 * it does (the rest is not kept).
 */
export async function readLimitedBody(req: IncomingMessage, limit = MAX_REQUEST_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) {
    req.resume()
    throw entityTooLarge(limit)
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of req) {
    size += (c as Buffer).length
    if (size > limit) {
      req.resume()
      throw entityTooLarge(limit)
    }
    chunks.push(c as Buffer)
  }
  return Buffer.concat(chunks)
}

/**
 * The deepest nesting of `[` and `{` in JSON text, counted without parsing (strings skipped), so
 * a body too deep for the parser is refused before the parser sees it.
 *
 *   jsonTextDepth('{"a":[1,{"b":"[[["}]}') → 3
 */
export function jsonTextDepth(text: string): number {
  let depth = 0
  let max = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92)
        i++ // backslash: skip the escaped character
      else if (c === 34) inString = false
      continue
    }
    if (c === 34) inString = true
    else if (c === 123 || c === 91) {
      depth++
      if (depth > max) max = depth
    } else if (c === 125 || c === 93) depth--
  }
  return max
}

/**
 * The deepest nesting of objects and arrays in a value, walked without recursion (a YAML or
 * protobuf body is checked after decoding).
 *
 *   valueDepth({ a: [1, { b: 2 }] }) → 3
 */
export function valueDepth(value: unknown): number {
  let max = 0
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number]
    if (v === null || typeof v !== 'object') continue
    const depth = d + 1
    if (depth > max) max = depth
    if (depth > MAX_JSON_DEPTH) return depth
    for (const x of Array.isArray(v) ? v : Object.values(v)) stack.push([x, depth])
  }
  return max
}

/** 400 for a body nested deeper than MAX_JSON_DEPTH. */
export function tooDeep(): ApiStatusError {
  return badRequest(`the request body nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep`)
}

/** JSON text to a value, refusing bodies nested too deep (400) before parsing them. */
export function parseJsonBody(text: string): unknown {
  if (jsonTextDepth(text) > MAX_JSON_DEPTH) throw tooDeep()
  return JSON.parse(text)
}
