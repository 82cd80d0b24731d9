import { invalid, type StatusCause } from './api-errors.js'
import { fromSelectorObject, type LabelSelectorObject, matches } from './label-selector.js'
import { sandboxPodSecurity } from './pod-security.js'
import type { KObject, ResourceType } from './types.js'

type Obj = Record<string, unknown>

function obj(v: unknown): Obj {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {}
}

/**
 * An image reference's tag as Kubernetes reads it to default imagePullPolicy: `latest` when it
 * names neither a tag nor a digest, none for a digest alone.
 *
 *   imageTag('nginx') → 'latest';  imageTag('r:5000/app:2.0@sha256:…') → '2.0';  imageTag('r:5000/app@sha256:…') → undefined
 */
export function imageTag(ref: string): string | undefined {
  const [name, digest] = ref.split('@')
  const last = name.split('/').pop() ?? ''
  if (last.includes(':')) return last.slice(last.lastIndexOf(':') + 1)
  return digest ? undefined : 'latest'
}

/** Fills the defaults Kubernetes fills for a pod spec (the fields edgecanary and kubectl use). */
export function defaultPodSpec(specIn: unknown): Obj {
  const spec = { ...obj(specIn) }
  spec.restartPolicy ??= 'Always'
  spec.terminationGracePeriodSeconds ??= 30
  spec.dnsPolicy ??= 'ClusterFirst'
  spec.schedulerName ??= 'default-scheduler'
  spec.securityContext ??= {}
  spec.containers = (Array.isArray(spec.containers) ? spec.containers : []).map((cIn) => {
    const c = { ...obj(cIn) }
    c.imagePullPolicy ??= imageTag(String(c.image ?? '')) === 'latest' ? 'Always' : 'IfNotPresent'
    c.terminationMessagePath ??= '/dev/termination-log'
    c.terminationMessagePolicy ??= 'File'
    c.resources ??= {}
    if (Array.isArray(c.ports)) c.ports = c.ports.map((p) => ({ protocol: 'TCP', ...obj(p) }))
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      if (c[probe]) {
        const p = { ...obj(c[probe]) }
        p.timeoutSeconds ??= 1
        p.periodSeconds ??= 10
        p.successThreshold ??= 1
        p.failureThreshold ??= 3
        if (p.httpGet) p.httpGet = { scheme: 'HTTP', path: '/', ...obj(p.httpGet) }
        c[probe] = p
      }
    }
    return c
  })
  return spec
}

/** Defaults applied on create and update, per resource. */
export function applyDefaults(t: ResourceType, o: KObject): KObject {
  const x = o as KObject & Obj
  switch (t.resource) {
    case 'deployments': {
      const spec = { ...obj(x.spec) }
      spec.replicas ??= 1
      spec.revisionHistoryLimit ??= 10
      spec.progressDeadlineSeconds ??= 600
      spec.minReadySeconds ??= 0
      const strategy = { ...obj(spec.strategy) }
      strategy.type ??= 'RollingUpdate'
      if (strategy.type === 'RollingUpdate') {
        strategy.rollingUpdate = { maxSurge: '25%', maxUnavailable: '25%', ...obj(strategy.rollingUpdate) }
      }
      spec.strategy = strategy
      const tpl = { ...obj(spec.template) }
      tpl.metadata = { ...obj(tpl.metadata) }
      tpl.spec = defaultPodSpec(tpl.spec)
      spec.template = tpl
      x.spec = spec
      break
    }
    case 'replicasets': {
      const spec = { ...obj(x.spec) }
      spec.replicas ??= 1
      const tpl = { ...obj(spec.template) }
      tpl.spec = defaultPodSpec(tpl.spec)
      spec.template = tpl
      x.spec = spec
      break
    }
    case 'pods':
      x.spec = defaultPodSpec(x.spec)
      break
    case 'services': {
      const spec = { ...obj(x.spec) }
      spec.type ??= 'ClusterIP'
      spec.sessionAffinity ??= 'None'
      spec.ports = (Array.isArray(spec.ports) ? spec.ports : []).map((p) => {
        const port: Obj = { protocol: 'TCP', ...obj(p) }
        port.targetPort ??= port.port
        return port
      })
      x.spec = spec
      break
    }
  }
  return x
}

/** Whether an update changes what `generation` counts: spec, or for Deployments also annotations. */
export function bumpsGeneration(t: ResourceType, before: KObject, after: KObject): boolean {
  if (JSON.stringify(before.spec) !== JSON.stringify(after.spec)) return true
  return (
    t.resource === 'deployments' &&
    JSON.stringify(before.metadata.annotations ?? {}) !== JSON.stringify(after.metadata.annotations ?? {})
  )
}

export function hasStatus(t: ResourceType): boolean {
  return !['configmaps', 'secrets', 'endpoints', 'events', 'leases'].includes(t.resource)
}

/** Validation of create and update; throws 422 Invalid with causes. */
export function validate(t: ResourceType, o: KObject, old?: KObject): void {
  const causes: StatusCause[] = []
  const x = o as KObject & Obj
  const name = o.metadata.name
  if (!name)
    causes.push({
      reason: 'FieldValueRequired',
      message: 'Required value: name or generateName is required',
      field: 'metadata.name',
    })
  else if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
      field: 'metadata.name',
    })
  }
  const containersOf = (spec: unknown, path: string) => {
    const cs = obj(spec).containers
    if (!Array.isArray(cs) || cs.length === 0) {
      causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `${path}.containers` })
      return
    }
    cs.forEach((c, i) => {
      if (!obj(c).name)
        causes.push({
          reason: 'FieldValueRequired',
          message: 'Required value',
          field: `${path}.containers[${i}].name`,
        })
      if (!obj(c).image)
        causes.push({
          reason: 'FieldValueRequired',
          message: 'Required value',
          field: `${path}.containers[${i}].image`,
        })
    })
  }
  if (t.resource === 'deployments' || t.resource === 'replicasets') {
    const spec = obj(x.spec)
    const selector = spec.selector as LabelSelectorObject | undefined
    const tpl = obj(spec.template)
    const labels = obj(tpl.metadata).labels as Record<string, string> | undefined
    if (!selector || fromSelectorObject(selector).length === 0) {
      causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.selector' })
    } else if (!matches(labels, fromSelectorObject(selector))) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: 'Invalid value: map[string]string{}: `selector` does not match template `labels`',
        field: 'spec.template.metadata.labels',
      })
    }
    if (old && JSON.stringify(obj(old.spec).selector) !== JSON.stringify(spec.selector)) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: v1.LabelSelector{MatchLabels:map[string]string{${Object.entries(
          selector?.matchLabels ?? {},
        )
          .map(([k, v]) => `"${k}":"${v}"`)
          .join(', ')}}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable`,
        field: 'spec.selector',
      })
    }
    const replicas = spec.replicas
    if (typeof replicas !== 'number' || replicas < 0 || !Number.isInteger(replicas)) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: 'Invalid value: must be greater than or equal to 0',
        field: 'spec.replicas',
      })
    }
    containersOf(tpl.spec, 'spec.template.spec')
  }
  if (t.resource === 'pods') containersOf(x.spec, 'spec')
  causes.push(...sandboxPodSecurity(t.resource, x))
  if (causes.length > 0) throw invalid(t, name || '', causes)
}
