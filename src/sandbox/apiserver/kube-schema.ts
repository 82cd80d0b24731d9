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
