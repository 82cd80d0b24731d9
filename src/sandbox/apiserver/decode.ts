import { ApiStatusError, badRequest, type StatusCause } from '../api-errors.js'
import {
  FIELDS_V1,
  type FieldDef,
  goFieldType,
  goStructName,
  INT_OR_STRING,
  jsonFields,
  jsonName,
  MICRO_TIME,
  QUANTITY,
  TIME,
} from './kube-schema.js'

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** What the server does with fields the schema does not know (`?fieldValidation=`). */
export type FieldValidation = 'Ignore' | 'Warn' | 'Strict'

/**
 * `fieldValidation` as kube-apiserver takes it: absent is `Warn`.
 *
 *   fieldValidationOf(new URLSearchParams('fieldValidation=Strict')) → 'Strict'
 */
export function fieldValidationOf(q: URLSearchParams): FieldValidation {
  const v = q.get('fieldValidation')
  if (v === null || v === '') return 'Warn'
  if (v === 'Ignore' || v === 'Warn' || v === 'Strict') return v
  throw badRequest(
    `fieldValidation: Unsupported value: ${JSON.stringify(v)}: supported values: "Ignore", "Warn", "Strict"`,
  )
}

const QUANTITY_RE = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/
const QUANTITY_SUFFIX = /^(|[numkMGTPE]|[KMGTPE]i|[eE][-+]?\d+)$/
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

/** A type error of Go's decoder: the first one ends decoding. */
class DecodeError extends Error {}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array'
  if (v === null) return 'null'
  if (typeof v === 'object') return 'object'
  if (typeof v === 'number') return 'number'
  if (typeof v === 'boolean') return 'bool'
  return typeof v
}

interface Walk {
  unknown: string[]
  /** json names from the root, as Go's decoder reports a field (no indexes, no map keys) */
  goPath: string[]
  /** the innermost Go struct */
  struct: string
}

function typeError(v: unknown, w: Walk, type: string, numberText = false): never {
  const what = numberText && typeof v === 'number' ? `number ${v}` : jsonKind(v)
  throw new DecodeError(
    `json: cannot unmarshal ${what} into Go struct field ${w.struct}.${w.goPath.join('.')} of type ${type}`,
  )
}

function scalar(t: string, v: unknown, w: Walk, f: FieldDef, path: string): unknown {
  switch (t) {
    case 'string':
      if (typeof v !== 'string') typeError(v, w, 'string')
      return v
    case 'bool':
      if (typeof v !== 'boolean') typeError(v, w, 'bool')
      return v
    case 'int32':
    case 'int64': {
      if (typeof v !== 'number') typeError(v, w, t)
      const n = v as number
      const max = t === 'int32' ? 2 ** 31 : 2 ** 63
      if (!Number.isInteger(n) || n >= max || n < -max) typeError(v, w, t, true)
      return n
    }
    case 'double':
    case 'float':
      if (typeof v !== 'number') typeError(v, w, 'float64')
      return v
    case 'bytes':
      if (typeof v !== 'string') typeError(v, w, '[]uint8')
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v as string) || (v as string).length % 4 !== 0)
        throw new DecodeError('illegal base64 data at input byte 0')
      return v
    case TIME:
    case MICRO_TIME:
      if (typeof v !== 'string')
        throw new DecodeError(`json: cannot unmarshal ${jsonKind(v)} into Go value of type string`)
      if (!RFC3339.test(v) || Number.isNaN(Date.parse(v)))
        throw new DecodeError(
          `parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(v)} as "2006"`,
        )
      return v
    case INT_OR_STRING:
      if (typeof v === 'string') return v
      if (typeof v !== 'number' || !Number.isInteger(v) || Math.abs(v) >= 2 ** 31)
        throw new DecodeError(
          `json: cannot unmarshal ${typeof v === 'number' ? `number ${v}` : jsonKind(v)} into Go value of type int32`,
        )
      return v
    case QUANTITY: {
      const text = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : JSON.stringify(v)
      const m = QUANTITY_RE.exec(text)
      if (!m)
        throw new DecodeError(
          "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        )
      if (!QUANTITY_SUFFIX.test(m[2])) throw new DecodeError("unable to parse quantity's suffix")
      return v
    }
    case FIELDS_V1:
      return v
    default:
      return message(t, v, w, f, path)
  }
}

function message(
  name: string,
  v: unknown,
  w: Walk,
  f: FieldDef | undefined,
  path: string,
  root = false,
): Obj {
  if (!isObj(v)) typeError(v, w, f ? goFieldType({ ...f, repeated: false, map: undefined }) : name)
  const fields = jsonFields(name)
  const out: Obj = {}
  const inner: Walk = { ...w, struct: goStructName(name) }
  for (const [key, value] of Object.entries(v as Obj)) {
    const at = path ? `${path}.${key}` : key
    if (root && (key === 'apiVersion' || key === 'kind')) {
      if (typeof value !== 'string') typeError(value, { ...inner, goPath: [key] }, 'string')
      out[key] = value
      continue
    }
    const def = fields.get(key)
    if (!def) {
      w.unknown.push(at)
      continue
    }
    if (value === null || value === undefined) continue
    out[key] = field(def.f, value, { ...inner, goPath: [...w.goPath, jsonName(def.f)] }, at)
  }
  return out
}

function field(f: FieldDef, v: unknown, w: Walk, path: string): unknown {
  if (f.map) {
    if (!isObj(v)) typeError(v, w, goFieldType(f))
    const out: Obj = {}
    for (const [k, x] of Object.entries(v as Obj)) {
      if (x === null || x === undefined) continue
      out[k] = scalar(f.map, x, w, f, `${path}.${k}`)
    }
    return out
  }
  if (f.repeated) {
    if (!Array.isArray(v)) typeError(v, w, goFieldType(f))
    return (v as unknown[]).map((x, i) => scalar(f.type ?? 'string', x, w, f, `${path}[${i}]`))
  }
  return scalar(f.type ?? 'string', v, w, f, path)
}

/**
 * Decodes a request body into a kind's schema as kube-apiserver's decoder does: a value of the
 * wrong type is a 400 with Go's message (`ConfigMap in version "v1" cannot be handled as a
 * ConfigMap: json: cannot unmarshal bool into Go struct field ConfigMap.data of type string`);
 * fields the schema does not know are dropped, and with `fieldValidation=Strict` refused
 * (`strict decoding error: unknown field "spec.replicaz"`), with `Warn` returned as warnings.
 *
 *   decodeObject('k8s.io.api.core.v1.ConfigMap', { kind: 'ConfigMap', version: 'v1' },
 *                { metadata: { name: 'a' }, data: { x: '1' }, extra: 1 }, 'Warn')
 *   → { object: { metadata: { name: 'a' }, data: { x: '1' } }, warnings: ['unknown field "extra"'] }
 */
export function decodeObject(
  messageName: string,
  kind: { kind: string; version: string },
  value: unknown,
  mode: FieldValidation,
): { object: Obj; warnings: string[] } {
  const w: Walk = { unknown: [], goPath: [], struct: goStructName(messageName) }
  const prefix = `${kind.kind} in version "${kind.version}" cannot be handled as a ${kind.kind}`
  let object: Obj
  try {
    object = message(messageName, value, w, undefined, '', true)
  } catch (err) {
    if (err instanceof DecodeError) throw badRequest(`${prefix}: ${err.message}`)
    throw err
  }
  const unknown = w.unknown.map((p) => `unknown field ${JSON.stringify(p)}`)
  if (mode === 'Strict' && unknown.length > 0)
    throw badRequest(`${prefix}: strict decoding error: ${unknown.join(', ')}`)
  return { object, warnings: mode === 'Warn' ? unknown : [] }
}

// ---- validation (422) of what decoding cannot say: required fields, enums, names ----

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/

/** How each kind's metadata.name is checked (kube's per-kind ValidateObjectMeta name function). */
const NAME_FORMAT: Record<string, 'label' | 'dns1035' | 'subdomain'> = {
  namespaces: 'label',
  services: 'dns1035',
}

/**
 * kube's IsDNS1123Label / IsDNS1123Subdomain / IsDNS1035Label, with their messages.
 *
 *   nameProblems('My_App', 'label')
 *   → ["a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"]
 */
export function nameProblems(value: string, format: 'label' | 'dns1035' | 'subdomain'): string[] {
  const out: string[] = []
  if (format === 'subdomain') {
    if (value.length > 253) out.push('must be no more than 253 characters')
    if (!SUBDOMAIN.test(value))
      out.push(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      )
    return out
  }
  if (value.length > 63) out.push('must be no more than 63 characters')
  if (format === 'label' && !LABEL.test(value))
    out.push(
      SUBDOMAIN.test(value)
        ? 'must not contain dots'
        : "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    )
  if (format === 'dns1035' && !DNS1035.test(value))
    out.push(
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    )
  return out
}

/** Fields whose value names something in DNS: container names and Service port names are labels. */
const LABEL_FIELDS = new Set(['k8s.io.api.core.v1.Container.name', 'k8s.io.api.core.v1.ServicePort.name'])

/**
 * The causes of a 422 the schema gives for a decoded object after defaulting: required fields
 * missing, enum values not supported, names that are not DNS names. `status` is the
 * controllers' and is not checked.
 *
 *   schemaProblems('k8s.io.api.core.v1.Service', 'services', { metadata: { name: 'a' }, spec: { type: 'Cluster', ports: [{ port: 80 }] } })
 *   → [{ reason: 'FieldValueNotSupported', field: 'spec.type',
 *        message: 'Unsupported value: "Cluster": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"' }]
 */
export function schemaProblems(messageName: string, resource: string, object: unknown): StatusCause[] {
  const causes: StatusCause[] = []
  const name = (isObj(object) && isObj(object.metadata) ? object.metadata.name : undefined) as
    | string
    | undefined
  if (name) {
    for (const m of nameProblems(name, NAME_FORMAT[resource] ?? 'subdomain'))
      causes.push({
        reason: 'FieldValueInvalid',
        field: 'metadata.name',
        message: `Invalid value: ${JSON.stringify(name)}: ${m}`,
      })
  }
  const visit = (msg: string, v: unknown, path: string) => {
    if (!isObj(v)) return
    for (const [key, { f }] of jsonFields(msg)) {
      const at = path ? `${path}.${key}` : key
      if (!path && key === 'status') continue
      const x = v[key]
      if (x === undefined || x === null) {
        if (f.required && !(f.repeated && f.listType === undefined))
          causes.push({ reason: 'FieldValueRequired', field: at, message: 'Required value' })
        continue
      }
      const check = (item: unknown, p: string) => {
        if (f.enum && typeof item === 'string' && !f.enum.includes(item))
          causes.push({
            reason: 'FieldValueNotSupported',
            field: p,
            message: `Unsupported value: ${JSON.stringify(item)}: supported values: ${f.enum.map((e) => JSON.stringify(e)).join(', ')}`,
          })
        if (LABEL_FIELDS.has(`${msg}.${f.name}`) && typeof item === 'string')
          for (const m of nameProblems(item, 'label'))
            causes.push({
              reason: 'FieldValueInvalid',
              field: p,
              message: `Invalid value: ${JSON.stringify(item)}: ${m}`,
            })
        if (f.type && !f.map && isObj(item)) visit(f.type, item, p)
      }
      if (f.repeated && Array.isArray(x)) {
        if (f.required && x.length === 0 && f.listType === 'map')
          causes.push({ reason: 'FieldValueRequired', field: at, message: 'Required value' })
        for (const [i, item] of x.entries()) check(item, `${at}[${i}]`)
      } else if (!f.map) check(x, at)
    }
  }
  visit(messageName, object, '')
  return causes
}

/** Whether an error is one this module throws for a body (a 400). */
export function isDecodeFailure(err: unknown): err is ApiStatusError {
  return err instanceof ApiStatusError && err.code === 400
}
