import type { ResourceType } from './types.js'

export interface ResourceInfo extends ResourceType {
  shortNames: string[]
  /** Subresources served: `status`, `scale`, `log`, `proxy`. */
  subresources: string[]
  categories: string[]
}

function r(
  group: string,
  version: string,
  resource: string,
  kind: string,
  namespaced: boolean,
  shortNames: string[] = [],
  subresources: string[] = [],
  categories: string[] = [],
): ResourceInfo {
  return { group, version, resource, kind, namespaced, shortNames, subresources, categories }
}

/** Every resource the sandbox serves. */
export const RES = {
  namespaces: r('', 'v1', 'namespaces', 'Namespace', false, ['ns'], ['status']),
  nodes: r('', 'v1', 'nodes', 'Node', false, ['no'], ['status']),
  pods: r('', 'v1', 'pods', 'Pod', true, ['po'], ['status', 'log', 'proxy'], ['all']),
  services: r('', 'v1', 'services', 'Service', true, ['svc'], ['status'], ['all']),
  endpoints: r('', 'v1', 'endpoints', 'Endpoints', true, ['ep']),
  events: r('', 'v1', 'events', 'Event', true, ['ev']),
  configmaps: r('', 'v1', 'configmaps', 'ConfigMap', true, ['cm']),
  secrets: r('', 'v1', 'secrets', 'Secret', true),
  serviceaccounts: r('', 'v1', 'serviceaccounts', 'ServiceAccount', true, ['sa']),
  replicationcontrollers: r(
    '',
    'v1',
    'replicationcontrollers',
    'ReplicationController',
    true,
    ['rc'],
    ['status', 'scale'],
    ['all'],
  ),
  deployments: r('apps', 'v1', 'deployments', 'Deployment', true, ['deploy'], ['status', 'scale'], ['all']),
  replicasets: r('apps', 'v1', 'replicasets', 'ReplicaSet', true, ['rs'], ['status', 'scale'], ['all']),
  daemonsets: r('apps', 'v1', 'daemonsets', 'DaemonSet', true, ['ds'], ['status'], ['all']),
  jobs: r('batch', 'v1', 'jobs', 'Job', true, [], ['status'], ['all']),
  cronjobs: r('batch', 'v1', 'cronjobs', 'CronJob', true, ['cj'], ['status'], ['all']),
  leases: r('coordination.k8s.io', 'v1', 'leases', 'Lease', true),
  // stored and served (so tools can see them); the sandbox runs no autoscaler
  horizontalpodautoscalers: r(
    'autoscaling',
    'v2',
    'horizontalpodautoscalers',
    'HorizontalPodAutoscaler',
    true,
    ['hpa'],
    ['status'],
    ['all'],
  ),
} satisfies Record<string, ResourceInfo>

export const ALL_RESOURCES: ResourceInfo[] = Object.values(RES)

/** Finds a resource by group and plural name (`apps`, `deployments`). */
export function resourceFor(group: string, resource: string): ResourceInfo | undefined {
  return ALL_RESOURCES.find((x) => x.group === group && x.resource === resource)
}

export function apiVersionOf(t: ResourceType): string {
  return t.group ? `${t.group}/${t.version}` : t.version
}
