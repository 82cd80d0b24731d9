import protobuf from 'protobufjs/minimal.js'
import { badRequest } from '../api-errors.js'
import {
  FIELDS_V1,
  INT_OR_STRING,
  jsonName,
  MICRO_TIME,
  messageDef,
  messageForTypeMeta,
  QUANTITY,
  TIME,
} from './kube-schema.js'

export const PROTOBUF = 'application/vnd.kubernetes.protobuf'

/** The four bytes before every Kubernetes protobuf object: `k8s\0`. */
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00])

type Obj = Record<string, unknown>
type Reader = protobuf.Reader
type Writer = protobuf.Writer

const VARINT = 0
const FIXED64 = 1
const BYTES = 2
const FIXED32 = 5

function toNumber(v: unknown): number {
  return typeof v === 'number' ? v : (v as { toNumber(): number }).toNumber()
}

/** Go's zero value of a scalar, which encoding/json leaves out of an `omitempty` field. */
function isZero(v: unknown): boolean {
  return v === 0 || v === '' || v === false
}

function timeString(seconds: number, nanos: number, micro: boolean): string {
  const base = new Date(seconds * 1000).toISOString().slice(0, 19)
  return micro ? `${base}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${base}Z`
}

function readScalar(r: Reader, type: string, wire: number): unknown {
  switch (type) {
    case 'string':
      return r.string()
    case 'bool':
      return r.bool()
    case 'int32':
      return r.int32()
    case 'int64':
      return toNumber(r.int64())
    case 'uint32':
      return r.uint32()
    case 'uint64':
      return toNumber(r.uint64())
    case 'double':
      return r.double()
    case 'float':
      return r.float()
    case 'bytes':
      return Buffer.from(r.bytes()).toString('base64')
    default:
      if (wire !== BYTES) throw badRequest(`protobuf: wire type ${wire} for message ${type}`)
      return decodeMessage(type, r.bytes())
  }
}

/**
 * A protobuf message of the Kubernetes API as its JSON object: field numbers and types from
 * the schema table, embedded structs flattened, Time/MicroTime/IntOrString/Quantity/FieldsV1 in
 * their JSON forms, Go's zero values of `omitempty` fields left out (as encoding/json would),
 * unknown field numbers skipped.
 */
export function decodeMessage(name: string, bytes: Uint8Array): unknown {
  const r = protobuf.Reader.create(bytes)
  if (name === TIME || name === MICRO_TIME) {
    let seconds = 0
    let nanos = 0
    while (r.pos < r.len) {
      const tag = r.uint32()
      if (tag >>> 3 === 1) seconds = toNumber(r.int64())
      else if (tag >>> 3 === 2) nanos = r.int32()
      else r.skipType(tag & 7)
    }
    return seconds === 0 && nanos === 0 ? undefined : timeString(seconds, nanos, name === MICRO_TIME)
  }
  if (name === INT_OR_STRING) {
    let type = 0
    let intVal = 0
    let strVal = ''
    while (r.pos < r.len) {
      const tag = r.uint32()
      if (tag >>> 3 === 1) type = toNumber(r.int64())
      else if (tag >>> 3 === 2) intVal = r.int32()
      else if (tag >>> 3 === 3) strVal = r.string()
      else r.skipType(tag & 7)
    }
    return type === 1 ? strVal : intVal
  }
  if (name === QUANTITY || name === FIELDS_V1) {
    let value: unknown
    while (r.pos < r.len) {
      const tag = r.uint32()
      if (tag >>> 3 === 1 && name === QUANTITY) value = r.string()
      else if (tag >>> 3 === 1) value = JSON.parse(Buffer.from(r.bytes()).toString('utf8'))
      else r.skipType(tag & 7)
    }
    return value
  }
  const def = messageDef(name)
  if (!def) throw badRequest(`protobuf: no schema for ${name}`)
  const byNumber = new Map(def.fields.map((f) => [f.n, f]))
  const out: Obj = {}
  while (r.pos < r.len) {
    const tag = r.uint32()
    const wire = tag & 7
    const f = byNumber.get(tag >>> 3)
    if (!f) {
      r.skipType(wire)
      continue
    }
    const key = jsonName(f)
    if (f.map) {
      const entry = protobuf.Reader.create(r.bytes())
      let k = ''
      let v: unknown
      while (entry.pos < entry.len) {
        const t = entry.uint32()
        if (t >>> 3 === 1) k = entry.string()
        else if (t >>> 3 === 2) v = readScalar(entry, f.map, t & 7)
        else entry.skipType(t & 7)
      }
      const m = (out[key] ?? {}) as Obj
      m[k] = v ?? (f.map === 'string' ? '' : v)
      out[key] = m
    } else if (f.repeated) {
      const list = (out[key] ?? []) as unknown[]
      const type = f.type ?? 'string'
      const packable = !['string', 'bytes'].includes(type) && messageDef(type) === undefined
      if (packable && wire === BYTES) {
        const end = r.uint32() + r.pos
        while (r.pos < end) list.push(readScalar(r, type, VARINT))
      } else list.push(readScalar(r, type, wire))
      out[key] = list
    } else if (f.inline && f.type) {
      Object.assign(out, decodeMessage(f.type, r.bytes()) as Obj)
    } else {
      const v = readScalar(r, f.type ?? 'string', wire)
      if (v === undefined || (f.omitempty && !f.pointer && isZero(v))) delete out[key]
      else out[key] = v
    }
  }
  return out
}

function writeScalar(w: Writer, type: string, n: number, v: unknown): void {
  switch (type) {
    case 'string':
      w.uint32((n << 3) | BYTES).string(String(v))
      return
    case 'bool':
      w.uint32((n << 3) | VARINT).bool(Boolean(v))
      return
    case 'int32':
      w.uint32((n << 3) | VARINT).int32(Number(v))
      return
    case 'int64':
      w.uint32((n << 3) | VARINT).int64(Number(v))
      return
    case 'uint32':
      w.uint32((n << 3) | VARINT).uint32(Number(v))
      return
    case 'uint64':
      w.uint32((n << 3) | VARINT).uint64(Number(v))
      return
    case 'double':
      w.uint32((n << 3) | FIXED64).double(Number(v))
      return
    case 'float':
      w.uint32((n << 3) | FIXED32).float(Number(v))
      return
    case 'bytes':
      w.uint32((n << 3) | BYTES).bytes(Buffer.from(String(v), 'base64'))
      return
    default:
      w.uint32((n << 3) | BYTES).bytes(encodeMessage(type, v))
  }
}

/** A JSON object of the Kubernetes API as its protobuf message (the inverse of decodeMessage). */
export function encodeMessage(name: string, value: unknown): Uint8Array {
  const w = protobuf.Writer.create()
  if (name === TIME || name === MICRO_TIME) {
    const ms = Date.parse(String(value))
    if (!Number.isNaN(ms)) {
      w.uint32((1 << 3) | VARINT).int64(Math.floor(ms / 1000))
      const frac = /\.(\d+)/.exec(String(value))?.[1]
      if (frac) w.uint32((2 << 3) | VARINT).int32(Number(frac.padEnd(9, '0').slice(0, 9)))
    }
    return w.finish()
  }
  if (name === INT_OR_STRING) {
    if (typeof value === 'string')
      w.uint32(8)
        .int64(1)
        .uint32((3 << 3) | BYTES)
        .string(value)
    else
      w.uint32(8)
        .int64(0)
        .uint32((2 << 3) | VARINT)
        .int32(Number(value))
    return w.finish()
  }
  if (name === QUANTITY)
    return w
      .uint32((1 << 3) | BYTES)
      .string(String(value))
      .finish()
  if (name === FIELDS_V1)
    return w
      .uint32((1 << 3) | BYTES)
      .bytes(Buffer.from(JSON.stringify(value)))
      .finish()
  const def = messageDef(name)
  if (!def) return w.finish()
  const obj = (value ?? {}) as Obj
  for (const f of def.fields) {
    if (f.inline && f.type) {
      const inner = encodeMessage(f.type, obj)
      if (inner.length > 0) w.uint32((f.n << 3) | BYTES).bytes(inner)
      continue
    }
    const v = obj[jsonName(f)]
    if (v === undefined || v === null) continue
    if (f.map) {
      for (const [k, x] of Object.entries(v as Obj)) {
        const entry = protobuf.Writer.create()
          .uint32((1 << 3) | BYTES)
          .string(k)
        writeScalar(entry, f.map, 2, x)
        w.uint32((f.n << 3) | BYTES).bytes(entry.finish())
      }
    } else if (f.repeated && Array.isArray(v)) {
      for (const x of v) writeScalar(w, f.type ?? 'string', f.n, x)
    } else writeScalar(w, f.type ?? 'string', f.n, v)
  }
  return w.finish()
}

/**
 * Reads a `application/vnd.kubernetes.protobuf` body: the `k8s\0` magic, then a
 * runtime.Unknown (typeMeta {apiVersion 1, kind 2} = 1, raw = 2, contentEncoding = 3,
 * contentType = 4) whose raw bytes are the kind's message. Returns the JSON object, with
 * apiVersion and kind from the envelope.
 *
 *   decodeEnvelope(encodeEnvelope('v1', 'ConfigMap', { metadata: { name: 'a' } }))
 *   → { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } }
 */
export function decodeEnvelope(body: Buffer): Obj {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC))
    throw badRequest(
      'provided object is not a protobuf object: the body does not start with the k8s protobuf prefix',
    )
  const r = protobuf.Reader.create(body.subarray(4))
  let apiVersion = ''
  let kind = ''
  let raw: Uint8Array = new Uint8Array()
  let contentEncoding = ''
  try {
    while (r.pos < r.len) {
      const tag = r.uint32()
      switch (tag >>> 3) {
        case 1: {
          const tm = protobuf.Reader.create(r.bytes())
          while (tm.pos < tm.len) {
            const t = tm.uint32()
            if (t >>> 3 === 1) apiVersion = tm.string()
            else if (t >>> 3 === 2) kind = tm.string()
            else tm.skipType(t & 7)
          }
          break
        }
        case 2:
          raw = r.bytes()
          break
        case 3:
          contentEncoding = r.string()
          break
        default:
          r.skipType(tag & 7)
      }
    }
  } catch (err) {
    throw badRequest(`protobuf: ${(err as Error).message}`)
  }
  if (contentEncoding) throw badRequest(`protobuf: content encoding ${contentEncoding} is not supported`)
  const message = messageForTypeMeta(apiVersion, kind)
  if (!message) throw badRequest(`no kind "${kind}" is registered for version "${apiVersion}"`)
  let object: unknown
  try {
    object = decodeMessage(message, raw)
  } catch (err) {
    if ((err as { code?: number }).code === 400) throw err
    throw badRequest(`protobuf: ${(err as Error).message}`)
  }
  return { apiVersion, kind, ...(object as Obj) }
}

/** An object as a Kubernetes protobuf body: magic, then runtime.Unknown around the kind's message. */
export function encodeEnvelope(apiVersion: string, kind: string, object: unknown): Buffer {
  const message = messageForTypeMeta(apiVersion, kind)
  const raw = message ? encodeMessage(message, object) : new Uint8Array()
  const typeMeta = protobuf.Writer.create()
    .uint32((1 << 3) | BYTES)
    .string(apiVersion)
    .uint32((2 << 3) | BYTES)
    .string(kind)
    .finish()
  const unknown = protobuf.Writer.create()
    .uint32((1 << 3) | BYTES)
    .bytes(typeMeta)
    .uint32((2 << 3) | BYTES)
    .bytes(raw)
    .uint32((4 << 3) | BYTES)
    .string(PROTOBUF)
    .finish()
  return Buffer.concat([MAGIC, unknown])
}

/**
 * How to answer, from the Accept header: JSON whenever the client takes it (kubectl lists
 * `application/json` after protobuf), protobuf when that is all it takes, else undefined (406).
 *
 *   answerFormat('application/vnd.kubernetes.protobuf, application/json') → 'json'
 *   answerFormat('application/vnd.kubernetes.protobuf') → 'protobuf'
 */
export function answerFormat(accept: string | undefined): 'json' | 'protobuf' | undefined {
  if (!accept) return 'json'
  const types = accept.split(',').map((p) => p.split(';')[0].trim().toLowerCase())
  if (
    types.some(
      (t) => t === 'application/json' || t === '*/*' || t === 'application/*' || t === 'application/yaml',
    )
  )
    return 'json'
  if (types.includes(PROTOBUF)) return 'protobuf'
  return undefined
}
