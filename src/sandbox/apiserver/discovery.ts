import { ALL_RESOURCES, type ResourceInfo } from '../resources.js'
import { kindMessage, openapiName, openapiSchemas } from './kube-schema.js'

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']

/** `GET /version`: kubectl's dispatcher picks `kubectl.1.<minor>` from it. */
export function versionInfo() {
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.0+edgecanary',
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'go1.23',
    compiler: 'gc',
    platform: 'linux/amd64',
  }
}

export function groupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>()
  for (const r of ALL_RESOURCES) seen.set(`${r.group}/${r.version}`, { group: r.group, version: r.version })
  return [...seen.values()]
}

/** `GET /api`. */
export function apiVersions() {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }],
  }
}

/** `GET /apis`: the legacy APIGroupList. */
export function apiGroupList() {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groupVersions()
      .filter((g) => g.group !== '')
      .map((g) => ({
        name: g.group,
        versions: [{ groupVersion: `${g.group}/${g.version}`, version: g.version }],
        preferredVersion: { groupVersion: `${g.group}/${g.version}`, version: g.version },
      })),
  }
}

function resourceEntries(r: ResourceInfo) {
  const main = {
    name: r.resource,
    singularName: r.kind.toLowerCase(),
    namespaced: r.namespaced,
    kind: r.kind,
    verbs: VERBS,
    ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
    ...(r.categories.length ? { categories: r.categories } : {}),
  }
  const subs = r.subresources.map((s) => ({
    name: `${r.resource}/${s}`,
    singularName: '',
    namespaced: r.namespaced,
    kind:
      s === 'scale'
        ? 'Scale'
        : s === 'log' || s === 'proxy'
          ? s === 'log'
            ? 'Pod'
            : 'PodProxyOptions'
          : r.kind,
    ...(s === 'scale' ? { group: 'autoscaling', version: 'v1' } : {}),
    verbs:
      s === 'log'
        ? ['get']
        : s === 'proxy'
          ? ['create', 'delete', 'get', 'patch', 'update']
          : ['get', 'patch', 'update'],
  }))
  return [main, ...subs]
}

/** `GET /api/v1`, `GET /apis/apps/v1`, …: the APIResourceList of one group-version. */
export function apiResourceList(group: string, version: string) {
  const rs = ALL_RESOURCES.filter((r) => r.group === group && r.version === version)
  if (rs.length === 0) return undefined
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: rs.flatMap(resourceEntries),
  }
}

/**
 * A minimal `/openapi/v3`: enough for kubectl's default `--validate=strict` to find each
 * kind's group-version and hand validation to the server (`fieldValidation=Strict`).
 */
export function openapiV3Root() {
  const paths: Record<string, { serverRelativeURL: string }> = {}
  for (const g of groupVersions()) {
    const p = g.group ? `apis/${g.group}/${g.version}` : `api/${g.version}`
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=edgecanary2` }
  }
  return { paths }
}

export function openapiV3For(group: string, version: string) {
  const rs = ALL_RESOURCES.filter((r) => r.group === group && r.version === version)
  if (rs.length === 0) return undefined
  const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`
  const paths: Record<string, unknown> = {}
  const schemas: Record<string, unknown> = {}
  for (const r of rs) {
    const message = kindMessage(r)
    const schemaName = message ? openapiName(message) : `io.k8s.api.${group || 'core'}.${version}.${r.kind}`
    const gvk = [{ group, version, kind: r.kind }]
    const path = r.namespaced
      ? `${prefix}/namespaces/{namespace}/${r.resource}/{name}`
      : `${prefix}/${r.resource}/{name}`
    paths[path] = {
      patch: {
        'x-kubernetes-group-version-kind': gvk[0],
        'x-kubernetes-action': 'patch',
        parameters: [{ name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } }],
        responses: {
          '200': {
            content: { 'application/json': { schema: { $ref: `#/components/schemas/${schemaName}` } } },
          },
        },
      },
    }
    if (message) {
      // the kind's schema from the table the server validates with (kube-schema.json)
      Object.assign(
        schemas,
        openapiSchemas([message], (m) => (m === message ? gvk[0] : undefined)),
      )
      continue
    }
    schemas[schemaName] = {
      type: 'object',
      'x-kubernetes-group-version-kind': gvk,
      'x-kubernetes-preserve-unknown-fields': true,
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      },
    }
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    components: { schemas },
  }
}
