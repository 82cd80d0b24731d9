#!/usr/bin/env node
// Generates src/sandbox/apiserver/kube-schema.json: the messages of the kinds the sandbox
// serves (and those it is about to serve), as the Kubernetes API defines them — field numbers
// and types from generated.proto, optional/required, patch strategy and merge key from the
// comments' markers, enum values from the `+enum` string types of types.go. The API server
// takes its protobuf wire format, its schema validation, its strategic-merge-patch rules and
// the schemas it serves on /openapi/v3 from this one table.
//
//   node scripts/gen-kube-schema.mjs <kubernetes/api checkout> <kubernetes/apimachinery checkout>
//
// Both checkouts at the release the sandbox claims (v0.32.x for Kubernetes 1.32).
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const [apiDir, machineryDir] = process.argv.slice(2)
if (!apiDir || !machineryDir) {
  console.error('usage: gen-kube-schema.mjs <kubernetes/api dir> <kubernetes/apimachinery dir>')
  process.exit(2)
}

/** Every kind the table starts from (group/version/Kind), with its List. */
const ROOTS = [
  'core/v1/Namespace',
  'core/v1/Node',
  'core/v1/Pod',
  'core/v1/Service',
  'core/v1/Endpoints',
  'core/v1/Event',
  'core/v1/ConfigMap',
  'core/v1/Secret',
  'core/v1/ServiceAccount',
  'core/v1/ReplicationController',
  'apps/v1/Deployment',
  'apps/v1/ReplicaSet',
  'apps/v1/DaemonSet',
  'apps/v1/StatefulSet',
  'batch/v1/Job',
  'batch/v1/CronJob',
  'coordination/v1/Lease',
  'autoscaling/v2/HorizontalPodAutoscaler',
]
const EXTRA = [
  'k8s.io.api.autoscaling.v1.Scale',
  'k8s.io.apimachinery.pkg.apis.meta.v1.Status',
  'k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions',
  'k8s.io.apimachinery.pkg.apis.meta.v1.PartialObjectMetadata',
]

function walk(dir, out = []) {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e)
    if (statSync(p).isDirectory()) walk(p, out)
    else out.push(p)
  }
  return out
}

const files = [...walk(apiDir), ...walk(machineryDir)]
const messages = {}
const SCALARS = new Set(['string', 'int32', 'int64', 'bool', 'bytes', 'double', 'float', 'uint32', 'uint64'])

for (const file of files.filter((f) => f.endsWith('generated.proto'))) {
  const text = readFileSync(file, 'utf8')
  const pkg = /^package ([\w.]+);/m.exec(text)[1]
  let current
  let comments = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line.startsWith('//')) {
      comments.push(line.slice(2).trim())
      continue
    }
    const msg = /^message (\w+) \{$/.exec(line)
    if (msg) {
      current = { fields: [] }
      messages[`${pkg}.${msg[1]}`] = current
      comments = []
      continue
    }
    if (line === '}') {
      current = undefined
      comments = []
      continue
    }
    const f = /^(optional|repeated)?\s*(map<(\w+),\s*([.\w]+)>|[.\w]+) (\w+) = (\d+);$/.exec(line)
    if (f && current) {
      const resolve = (t) => (SCALARS.has(t) ? t : t.startsWith('.') ? t.slice(1) : `${pkg}.${t}`)
      const field = { name: f[5], n: Number(f[6]) }
      if (f[3]) {
        field.map = resolve(f[4])
      } else {
        field.type = resolve(f[2])
        if (f[1] === 'repeated') field.repeated = true
      }
      const marker = (name) => comments.find((c) => c.startsWith(`+${name}=`))?.slice(name.length + 2)
      if (!comments.includes('+optional') && !comments.some((c) => c.startsWith('+optional')))
        field.required = true
      const ps = marker('patchStrategy')
      const pk = marker('patchMergeKey')
      const lt = marker('listType')
      if (ps) field.patchStrategy = ps
      if (pk) field.patchMergeKey = pk
      if (lt) field.listType = lt
      current.fields.push(field)
    }
    comments = []
  }
}

// enums and json names from types.go: `+enum` string types, their constants, and which field
// (by its protobuf name) has which Go type
const enums = {}
const fieldTypes = {} // `${pkg}.${Struct}.${protoName}` → { goType, json }
for (const file of files.filter(
  (f) => f.endsWith('.go') && !f.endsWith('_test.go') && !f.includes('generated'),
)) {
  const text = readFileSync(file, 'utf8')
  const goPkg = file.startsWith(`${apiDir}/`)
    ? `k8s.io.api.${file
        .slice(apiDir.length + 1)
        .split('/')
        .slice(0, -1)
        .join('.')}`
    : `k8s.io.apimachinery.${file
        .slice(machineryDir.length + 1)
        .split('/')
        .slice(0, -1)
        .join('.')}`
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const m = /^type (\w+) string$/.exec(lines[i])
    if (m && lines.slice(Math.max(0, i - 30), i).some((l) => l.trim() === '// +enum')) {
      let j = i - 1
      while (j >= 0 && lines[j].startsWith('//')) j--
      const block = lines.slice(j + 1, i)
      if (block.some((l) => l.trim() === '// +enum')) enums[`${goPkg}.${m[1]}`] = []
    }
  }
  for (const l of lines) {
    const c = /^\s*(\w+)\s+(\w+)\s*=\s*"([^"]*)"/.exec(l)
    if (c && enums[`${goPkg}.${c[2]}`]) enums[`${goPkg}.${c[2]}`].push(c[3])
  }
  let struct
  for (const l of lines) {
    const s = /^type (\w+) struct \{/.exec(l)
    if (s) struct = s[1]
    else if (/^\}/.test(l)) struct = undefined
    else if (struct) {
      const fm = /^\s+\w+\s+([*[\]\w.]+)\s+`json:"([^",]*)([^"]*)"(?:[^`]*protobuf:"[^"]*name=(\w+))?/.exec(l)
      if (fm?.[4])
        fieldTypes[`${goPkg}.${struct}.${fm[4]}`] = {
          goType: fm[1].replace(/^[*[\]]+/, ''),
          json: fm[2],
          omitempty: fm[3].includes('omitempty'),
          pointer: fm[1].startsWith('*'),
        }
      const em = /^\s+([*\w.]+)\s+`json:",inline"[^`]*protobuf:"[^"]*"/.exec(l)
      if (em) {
        // the protobuf name of an embedded struct is its type's, first letter lowered
        const name =
          /name=(\w+)/.exec(l)?.[1] ?? em[1].replace(/^\*/, '').replace(/^./, (c) => c.toLowerCase())
        fieldTypes[`${goPkg}.${struct}.${name}`] = { goType: em[1], inline: true }
      }
    }
  }
}
for (const [name, msg] of Object.entries(messages)) {
  const pkg = name.slice(0, name.lastIndexOf('.'))
  for (const f of msg.fields) {
    const ft = fieldTypes[`${name}.${f.name}`]
    if (!ft) continue
    if (ft.inline) {
      f.inline = true
      delete f.required
      continue
    }
    if (ft.omitempty) delete f.required
    if (ft.json && ft.json !== f.name) f.json = ft.json
    const values = enums[`${pkg}.${ft.goType}`]
    if (values?.some(Boolean)) f.enum = [...new Set(values.filter(Boolean))].sort()
    if (ft.omitempty) f.omitempty = true
    if (ft.pointer) f.pointer = true
  }
}

// keep what the roots reach
const keep = new Set()
const visit = (name) => {
  if (keep.has(name) || !messages[name]) return
  keep.add(name)
  for (const f of messages[name].fields) visit(f.map ?? f.type)
}
const kinds = []
for (const root of ROOTS) {
  const [group, version, kind] = root.split('/')
  const msg = `k8s.io.api.${group}.${version}.${kind}`
  if (!messages[msg]) throw new Error(`no message ${msg}`)
  visit(msg)
  visit(`${msg}List`)
  kinds.push({ group: group === 'core' ? '' : group, version, kind, message: msg })
}
for (const x of EXTRA) visit(x)
const out = {
  source: 'kubernetes/api and kubernetes/apimachinery v0.32.9 (generated.proto, types.go)',
  kinds,
  messages: Object.fromEntries([...keep].sort().map((k) => [k, messages[k]])),
}
const target = join(import.meta.dirname, '..', 'src', 'sandbox', 'apiserver', 'kube-schema.json')
writeFileSync(target, `${JSON.stringify(out)}\n`)
console.log(`${keep.size} messages, ${Object.keys(enums).length} enums → ${target}`)
