import type { ResourceType } from '../types.js'
import table from './kube-schema.json' with { type: 'json' }

/**
 * One field of a Kubernetes API message, as generated.proto and types.go define it (see
 * scripts/gen-kube-schema.mjs): protobuf number and type, JSON name, optional or required,
 * patch strategy and merge key, enum values.
 */
export interface FieldDef {
  /** protobuf field name (the JSON name unless `json` says otherwise) */
  name: string
  n: number
  /** scalar protobuf type (`string`, `int32`, …) or the full name of a message */
  type?: string
  /** a map from string to this type */
  map?: string
  repeated?: boolean
  required?: boolean
  omitempty?: boolean
  /** a Go pointer: set even when zero, so a zero on the wire is kept */
  pointer?: boolean
  /** a Go embedded struct: its fields are the parent's in JSON */
  inline?: boolean
  json?: string
  enum?: string[]
  patchStrategy?: string
  patchMergeKey?: string
  listType?: string
}

export interface MessageDef {
  fields: FieldDef[]
}

const schema = table as unknown as {
  kinds: { group: string; version: string; kind: string; message: string }[]
  messages: Record<string, MessageDef>
}

export const TIME = 'k8s.io.apimachinery.pkg.apis.meta.v1.Time'
export const MICRO_TIME = 'k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime'
export const INT_OR_STRING = 'k8s.io.apimachinery.pkg.util.intstr.IntOrString'
export const QUANTITY = 'k8s.io.apimachinery.pkg.api.resource.Quantity'
export const FIELDS_V1 = 'k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1'
export const OBJECT_META = 'k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta'

/** Messages whose JSON form is not an object of their fields. */
export const SPECIAL = new Set([TIME, MICRO_TIME, INT_OR_STRING, QUANTITY, FIELDS_V1])

export function messageDef(name: string): MessageDef | undefined {
  return schema.messages[name]
}

/**
 * The message of a kind by group, version and kind, or of its List (`ConfigMapList`): the
 * per-kind table every schema-driven part of the API server (validation, protobuf,
 * strategic merge patch) starts from. A kind added to the generator's roots plugs in here.
 *
 *   kindMessage({ group: 'apps', version: 'v1', kind: 'Deployment' }) → 'k8s.io.api.apps.v1.Deployment'
 */
export function kindMessage(t: Pick<ResourceType, 'group' | 'version' | 'kind'>): string | undefined {
  const name = `k8s.io.api.${t.group === '' ? 'core' : t.group.split('.')[0]}.${t.version}.${t.kind}`
  return schema.messages[name] ? name : undefined
}

/** The kind a message name stands for, for protobuf envelopes (`k8s.io.api.core.v1.ConfigMap` → v1 ConfigMap). */
export function messageForTypeMeta(apiVersion: string, kind: string): string | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion]
  if (group === 'meta.k8s.io' || (group === '' && (kind === 'Status' || kind === 'DeleteOptions'))) {
    const name = `k8s.io.apimachinery.pkg.apis.meta.v1.${kind}`
    return schema.messages[name] ? name : undefined
  }
  return kindMessage({ group, version, kind })
}

export function jsonName(f: FieldDef): string {
  return f.json ?? f.name
}

/**
 * The fields of a message by JSON name, embedded (inline) structs' fields included, each with
 * the chain of inline fields that holds it (for protobuf).
 */
export function jsonFields(message: string): Map<string, { f: FieldDef; via: FieldDef[] }> {
  const out = new Map<string, { f: FieldDef; via: FieldDef[] }>()
  const add = (name: string, via: FieldDef[]) => {
    for (const f of schema.messages[name]?.fields ?? []) {
      if (f.inline && f.type) add(f.type, [...via, f])
      else out.set(jsonName(f), { f, via })
    }
  }
  add(message, [])
  return out
}

/** Go's name of a message's type in error messages: `v1.ObjectMeta`, `intstr.IntOrString`. */
export function goTypeName(message: string): string {
  const parts = message.split('.')
  return `${parts[parts.length - 2]}.${parts[parts.length - 1]}`
}

/** The short Go struct name of a message: `ConfigMap`. */
export function goStructName(message: string): string {
  return message.slice(message.lastIndexOf('.') + 1)
}

/** Go's type of a field, as encoding/json names it in an UnmarshalTypeError. */
export function goFieldType(f: FieldDef): string {
  const scalar = (t: string) =>
    ({ string: 'string', int32: 'int32', int64: 'int64', bool: 'bool', bytes: '[]uint8', double: 'float64' })[
      t
    ] ?? (SPECIAL.has(t) ? goTypeName(t) : goTypeName(t))
  if (f.map) return `map[string]${scalar(f.map)}`
  const base = scalar(f.type ?? 'string')
  return f.repeated ? `[]${base}` : base
}

/** The OpenAPI name of a message: `k8s.io.api.core.v1.Pod` → `io.k8s.api.core.v1.Pod`. */
export function openapiName(message: string): string {
  return message.replace(/^k8s\.io\./, 'io.k8s.')
}

/**
 * OpenAPI v3 component schemas for messages and every message they reach, as kube-apiserver
 * serves them on /openapi/v3: properties by JSON name, `required`, enums, and the
 * `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key` / `x-kubernetes-list-type`
 * that kubectl's apply and strategic merge read. The same table validates requests.
 *
 *   openapiSchemas(['k8s.io.api.core.v1.ConfigMap'])['io.k8s.api.core.v1.ConfigMap'].properties.data
 *   → { type: 'object', additionalProperties: { type: 'string', default: '' } }
 */
export function openapiSchemas(
  roots: string[],
  gvk: (message: string) => { group: string; version: string; kind: string } | undefined = () => undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const scalar = (t: string): Record<string, unknown> => {
    switch (t) {
      case 'string':
        return { type: 'string' }
      case 'bool':
        return { type: 'boolean' }
      case 'int32':
        return { type: 'integer', format: 'int32' }
      case 'int64':
        return { type: 'integer', format: 'int64' }
      case 'double':
      case 'float':
        return { type: 'number', format: 'double' }
      case 'bytes':
        return { type: 'string', format: 'byte' }
      default:
        visit(t)
        return { allOf: [{ $ref: `#/components/schemas/${openapiName(t)}` }] }
    }
  }
  const visit = (name: string) => {
    const key = openapiName(name)
    if (key in out) return
    if (name === TIME || name === MICRO_TIME) {
      out[key] = { type: 'string', format: 'date-time' }
      return
    }
    if (name === INT_OR_STRING) {
      out[key] = { type: 'string', format: 'int-or-string', 'x-kubernetes-int-or-string': true }
      return
    }
    if (name === QUANTITY) {
      out[key] = { oneOf: [{ type: 'string' }, { type: 'number' }] }
      return
    }
    if (name === FIELDS_V1) {
      out[key] = { type: 'object' }
      return
    }
    out[key] = {}
    const properties: Record<string, unknown> = {}
    const required: string[] = []
    const root = gvk(name)
    if (root) {
      properties.apiVersion = { type: 'string' }
      properties.kind = { type: 'string' }
    }
    for (const [json, { f }] of jsonFields(name)) {
      let p: Record<string, unknown>
      if (f.map) p = { type: 'object', additionalProperties: scalar(f.map) }
      else if (f.repeated) p = { type: 'array', items: scalar(f.type ?? 'string') }
      else p = scalar(f.type ?? 'string')
      if (f.enum) p.enum = f.enum
      if (f.patchStrategy) p['x-kubernetes-patch-strategy'] = f.patchStrategy
      if (f.patchMergeKey) p['x-kubernetes-patch-merge-key'] = f.patchMergeKey
      if (f.listType) p['x-kubernetes-list-type'] = f.listType
      if (f.required) required.push(json)
      properties[json] = p
    }
    out[key] = {
      type: 'object',
      properties,
      ...(required.length ? { required } : {}),
      ...(root ? { 'x-kubernetes-group-version-kind': [root] } : {}),
    }
  }
  for (const r of roots) visit(r)
  return out
}
