import type { IncomingMessage } from 'node:http'
import type { KObject, ResourceType } from '../types.js'

/** kubectl asks `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` for `get`. */
export function wantsTable(req: IncomingMessage): boolean {
  return /as=Table/.test(req.headers.accept ?? '')
}

interface Column {
  name: string
  type: string
  format: string
  description: string
  priority: number
}

type O = Record<string, unknown>
const g = (o: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((cur, p) => (cur && typeof cur === 'object' ? (cur as O)[p] : undefined), o)
const arr = (v: unknown): O[] => (Array.isArray(v) ? (v as O[]) : [])
const names = (o: unknown, path: string, field: string) =>
  arr(g(o, path))
    .map((c) => c[field])
    .join(',')
const labelsOf = (v: unknown) =>
  Object.entries((v as Record<string, string>) ?? {})
    .map(([k, val]) => `${k}=${val}`)
    .join(',')

/**
 * kubectl's AGE: `45s`, `3m12s`, `2d4h`.
 *
 *   age('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:03:12Z')) → '3m12s'
 */
export function age(ts: string | undefined, now = Date.now()): string {
  if (!ts) return '<unknown>'
  const s = Math.max(0, Math.floor((now - Date.parse(ts)) / 1000))
  if (s < 120) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 10) return `${m}m${s % 60}s`
  if (m < 180) return `${m}m`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h`
  return `${Math.floor(h / 24)}d${h % 24}h`
}

/** The STATUS column of `kubectl get pods`, derived from container states as kubectl does. */
export function podStatus(p: KObject): string {
  if (p.metadata.deletionTimestamp) return 'Terminating'
  let reason = String(g(p, 'status.reason') ?? g(p, 'status.phase') ?? 'Pending')
  for (const c of arr(g(p, 'status.containerStatuses'))) {
    const waiting = g(c, 'state.waiting.reason')
    const term = g(c, 'state.terminated.reason')
    if (waiting) reason = String(waiting)
    else if (term) reason = String(term)
  }
  return reason
}

function col(name: string, priority = 0, type = 'string'): Column {
  return { name, type, format: name === 'Name' ? 'name' : '', description: name, priority }
}

function columnsFor(t: ResourceType, now: number): { columns: Column[]; cells: (o: KObject) => unknown[] } {
  const a = (o: KObject) => age(o.metadata.creationTimestamp, now)
  switch (t.resource) {
    case 'pods':
      return {
        columns: [
          col('Name'),
          col('Ready'),
          col('Status'),
          col('Restarts', 0, 'string'),
          col('Age'),
          col('IP', 1),
          col('Node', 1),
          col('Nominated Node', 1),
          col('Readiness Gates', 1),
        ],
        cells: (o) => {
          const cs = arr(g(o, 'status.containerStatuses'))
          const total = arr(g(o, 'spec.containers')).length
          const gates = arr(g(o, 'spec.readinessGates'))
          const conds = arr(g(o, 'status.conditions'))
          const gatesOk = gates.filter((x) =>
            conds.some((c) => c.type === x.conditionType && c.status === 'True'),
          ).length
          return [
            o.metadata.name,
            `${cs.filter((c) => c.ready).length}/${total}`,
            podStatus(o),
            String(cs.reduce((n, c) => n + Number(c.restartCount ?? 0), 0)),
            a(o),
            g(o, 'status.podIP') ?? '<none>',
            g(o, 'spec.nodeName') ?? '<none>',
            '<none>',
            gates.length ? `${gatesOk}/${gates.length}` : '<none>',
          ]
        },
      }
    case 'deployments':
      return {
        columns: [
          col('Name'),
          col('Ready'),
          col('Up-to-date', 0, 'integer'),
          col('Available', 0, 'integer'),
          col('Age'),
          col('Containers', 1),
          col('Images', 1),
          col('Selector', 1),
        ],
        cells: (o) => [
          o.metadata.name,
          `${g(o, 'status.readyReplicas') ?? 0}/${g(o, 'spec.replicas') ?? 0}`,
          g(o, 'status.updatedReplicas') ?? 0,
          g(o, 'status.availableReplicas') ?? 0,
          a(o),
          arr(g(o, 'spec.template.spec.containers'))
            .map((c) => c.name)
            .join(','),
          arr(g(o, 'spec.template.spec.containers'))
            .map((c) => c.image)
            .join(','),
          Object.entries((g(o, 'spec.selector.matchLabels') as Record<string, string>) ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(','),
        ],
      }
    case 'replicasets':
      return {
        columns: [
          col('Name'),
          col('Desired', 0, 'integer'),
          col('Current', 0, 'integer'),
          col('Ready', 0, 'integer'),
          col('Age'),
          col('Images', 1),
        ],
        cells: (o) => [
          o.metadata.name,
          g(o, 'spec.replicas') ?? 0,
          g(o, 'status.replicas') ?? 0,
          g(o, 'status.readyReplicas') ?? 0,
          a(o),
          arr(g(o, 'spec.template.spec.containers'))
            .map((c) => c.image)
            .join(','),
        ],
      }
    case 'replicationcontrollers':
      return {
        columns: [
          col('Name'),
          col('Desired', 0, 'integer'),
          col('Current', 0, 'integer'),
          col('Ready', 0, 'integer'),
          col('Age'),
          col('Containers', 1),
          col('Images', 1),
          col('Selector', 1),
        ],
        cells: (o) => [
          o.metadata.name,
          g(o, 'spec.replicas') ?? 0,
          g(o, 'status.replicas') ?? 0,
          g(o, 'status.readyReplicas') ?? 0,
          a(o),
          names(o, 'spec.template.spec.containers', 'name'),
          names(o, 'spec.template.spec.containers', 'image'),
          labelsOf(g(o, 'spec.selector')),
        ],
      }
    case 'daemonsets':
      return {
        columns: [
          col('Name'),
          col('Desired', 0, 'integer'),
          col('Current', 0, 'integer'),
          col('Ready', 0, 'integer'),
          col('Up-to-date', 0, 'integer'),
          col('Available', 0, 'integer'),
          col('Node Selector'),
          col('Age'),
          col('Containers', 1),
          col('Images', 1),
          col('Selector', 1),
        ],
        cells: (o) => [
          o.metadata.name,
          g(o, 'status.desiredNumberScheduled') ?? 0,
          g(o, 'status.currentNumberScheduled') ?? 0,
          g(o, 'status.numberReady') ?? 0,
          g(o, 'status.updatedNumberScheduled') ?? 0,
          g(o, 'status.numberAvailable') ?? 0,
          labelsOf(g(o, 'spec.template.spec.nodeSelector')) || '<none>',
          a(o),
          names(o, 'spec.template.spec.containers', 'name'),
          names(o, 'spec.template.spec.containers', 'image'),
          labelsOf(g(o, 'spec.selector.matchLabels')),
        ],
      }
    case 'jobs':
      return {
        columns: [
          col('Name'),
          col('Status'),
          col('Completions'),
          col('Duration'),
          col('Age'),
          col('Containers', 1),
          col('Images', 1),
          col('Selector', 1),
        ],
        cells: (o) => {
          const conds = arr(g(o, 'status.conditions'))
          const has = (type: string) => conds.some((c) => c.type === type && c.status === 'True')
          const status = has('Failed')
            ? 'Failed'
            : has('Complete')
              ? 'Complete'
              : g(o, 'spec.suspend') === true
                ? 'Suspended'
                : has('FailureTarget')
                  ? 'FailureTarget'
                  : 'Running'
          const completions = g(o, 'spec.completions')
          const start = g(o, 'status.startTime') as string | undefined
          const end = (g(o, 'status.completionTime') as string | undefined) ?? new Date(now).toISOString()
          return [
            o.metadata.name,
            status,
            completions === undefined || completions === null
              ? `${g(o, 'status.succeeded') ?? 0}/1 of ${g(o, 'spec.parallelism') ?? 1}`
              : `${g(o, 'status.succeeded') ?? 0}/${completions}`,
            start ? age(start, Date.parse(end)) : '',
            a(o),
            names(o, 'spec.template.spec.containers', 'name'),
            names(o, 'spec.template.spec.containers', 'image'),
            labelsOf(g(o, 'spec.selector.matchLabels')),
          ]
        },
      }
    case 'cronjobs':
      return {
        columns: [
          col('Name'),
          col('Schedule'),
          col('Timezone'),
          col('Suspend'),
          col('Active', 0, 'integer'),
          col('Last Schedule'),
          col('Age'),
          col('Containers', 1),
          col('Images', 1),
        ],
        cells: (o) => {
          const last = g(o, 'status.lastScheduleTime') as string | undefined
          return [
            o.metadata.name,
            g(o, 'spec.schedule') ?? '',
            g(o, 'spec.timeZone') ?? '<none>',
            g(o, 'spec.suspend') === true ? 'True' : 'False',
            arr(g(o, 'status.active')).length,
            last ? age(last, now) : '<none>',
            a(o),
            names(o, 'spec.jobTemplate.spec.template.spec.containers', 'name'),
            names(o, 'spec.jobTemplate.spec.template.spec.containers', 'image'),
          ]
        },
      }
    case 'serviceaccounts':
      return {
        columns: [col('Name'), col('Secrets', 0, 'integer'), col('Age')],
        cells: (o) => [o.metadata.name, arr(g(o, 'secrets')).length, a(o)],
      }
    case 'services':
      return {
        columns: [
          col('Name'),
          col('Type'),
          col('Cluster-IP'),
          col('External-IP'),
          col('Port(s)'),
          col('Age'),
          col('Selector', 1),
        ],
        cells: (o) => [
          o.metadata.name,
          g(o, 'spec.type'),
          g(o, 'spec.clusterIP') ?? '<none>',
          arr(g(o, 'status.loadBalancer.ingress'))
            .map((i) => i.ip ?? i.hostname)
            .join(',') || (g(o, 'spec.type') === 'LoadBalancer' ? '<pending>' : '<none>'),
          arr(g(o, 'spec.ports'))
            .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`)
            .join(','),
          a(o),
          Object.entries((g(o, 'spec.selector') as Record<string, string>) ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(','),
        ],
      }
    case 'endpoints':
      return {
        columns: [col('Name'), col('Endpoints'), col('Age')],
        cells: (o) => {
          const eps = arr(g(o, 'subsets')).flatMap((s) =>
            arr(s.addresses).flatMap((ad) => arr(s.ports).map((p) => `${ad.ip}:${p.port}`)),
          )
          return [
            o.metadata.name,
            eps.length
              ? eps.slice(0, 3).join(',') + (eps.length > 3 ? ` + ${eps.length - 3} more...` : '')
              : '<none>',
            a(o),
          ]
        },
      }
    case 'nodes':
      return {
        columns: [
          col('Name'),
          col('Status'),
          col('Roles'),
          col('Age'),
          col('Version'),
          col('Internal-IP', 1),
          col('OS-Image', 1),
          col('Kernel-Version', 1),
          col('Container-Runtime', 1),
        ],
        cells: (o) => {
          const ready = arr(g(o, 'status.conditions')).find((c) => c.type === 'Ready')
          const roles = Object.keys(o.metadata.labels ?? {})
            .filter((k) => k.startsWith('node-role.kubernetes.io/'))
            .map((k) => k.split('/')[1])
          return [
            o.metadata.name,
            ready?.status === 'True' ? 'Ready' : 'NotReady',
            roles.join(',') || '<none>',
            a(o),
            g(o, 'status.nodeInfo.kubeletVersion') ?? '',
            arr(g(o, 'status.addresses')).find((x) => x.type === 'InternalIP')?.address ?? '',
            g(o, 'status.nodeInfo.osImage') ?? '',
            g(o, 'status.nodeInfo.kernelVersion') ?? '',
            g(o, 'status.nodeInfo.containerRuntimeVersion') ?? '',
          ]
        },
      }
    case 'events':
      return {
        columns: [col('Last Seen'), col('Type'), col('Reason'), col('Object'), col('Message')],
        cells: (o) => [
          age(String(g(o, 'lastTimestamp') ?? o.metadata.creationTimestamp), now),
          g(o, 'type') ?? 'Normal',
          g(o, 'reason') ?? '',
          `${String(g(o, 'involvedObject.kind') ?? '').toLowerCase()}/${g(o, 'involvedObject.name') ?? ''}`,
          g(o, 'message') ?? '',
        ],
      }
    case 'namespaces':
      return {
        columns: [col('Name'), col('Status'), col('Age')],
        cells: (o) => [o.metadata.name, g(o, 'status.phase') ?? 'Active', a(o)],
      }
    case 'configmaps':
      return {
        columns: [col('Name'), col('Data', 0, 'integer'), col('Age')],
        cells: (o) => [o.metadata.name, Object.keys((g(o, 'data') as O) ?? {}).length, a(o)],
      }
    case 'leases':
      return {
        columns: [col('Name'), col('Holder'), col('Age')],
        cells: (o) => [o.metadata.name, g(o, 'spec.holderIdentity') ?? '', a(o)],
      }
    default:
      return { columns: [col('Name'), col('Age')], cells: (o) => [o.metadata.name, a(o)] }
  }
}

/**
 * A `meta.k8s.io/v1` Table with the columns kubectl users know. Each row's object follows
 * `includeObject`: PartialObjectMetadata (the default, for `-A`, `--show-labels`, `-L`), the
 * whole object (`Object`, what `--sort-by` and custom columns read), or none.
 */
export function tableFor(
  t: ResourceType,
  items: KObject[],
  resourceVersion: string,
  now = Date.now(),
  includeObject: 'None' | 'Metadata' | 'Object' = 'Metadata',
) {
  const { columns, cells } = columnsFor(t, now)
  const apiVersion = t.group ? `${t.group}/${t.version}` : t.version
  const objectOf = (o: KObject) =>
    includeObject === 'Object'
      ? { ...o, kind: t.kind, apiVersion }
      : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata }
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: columns,
    rows: items.map((o) => ({
      cells: cells(o),
      ...(includeObject === 'None' ? {} : { object: objectOf(o) }),
    })),
  }
}
