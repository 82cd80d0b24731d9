import { invalid, type StatusCause } from './api-errors.js'
import { schemaProblems } from './apiserver/decode.js'
import { kindMessage } from './apiserver/kube-schema.js'
import { cronScheduleError, timeZoneError } from './controllers/cron-schedule.js'
import { fromSelectorObject, type LabelSelectorObject, matches, selectorProblems } from './label-selector.js'
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
  // the ServiceAccount admission plugin: `default` unless named; serviceAccount is its deprecated alias
  spec.serviceAccountName ??= spec.serviceAccount ?? 'default'
  spec.serviceAccount ??= spec.serviceAccountName
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
    case 'replicationcontrollers': {
      // pkg/apis/core/v1/defaults.go SetDefaults_ReplicationController: selector and labels from the template
      const spec = { ...obj(x.spec) }
      spec.replicas ??= 1
      spec.minReadySeconds ??= 0
      const tpl = { ...obj(spec.template) }
      const tplLabels = obj(obj(tpl.metadata).labels)
      if (Object.keys(obj(spec.selector)).length === 0 && Object.keys(tplLabels).length > 0)
        spec.selector = { ...tplLabels }
      if (Object.keys(obj(x.metadata.labels)).length === 0 && Object.keys(tplLabels).length > 0)
        x.metadata = { ...x.metadata, labels: { ...(tplLabels as Record<string, string>) } }
      tpl.spec = defaultPodSpec(tpl.spec)
      spec.template = tpl
      x.spec = spec
      break
    }
    case 'daemonsets': {
      const spec = { ...obj(x.spec) }
      spec.revisionHistoryLimit ??= 10
      spec.minReadySeconds ??= 0
      const strategy = { ...obj(spec.updateStrategy) }
      strategy.type ??= 'RollingUpdate'
      if (strategy.type === 'RollingUpdate')
        strategy.rollingUpdate = { maxUnavailable: 1, maxSurge: 0, ...obj(strategy.rollingUpdate) }
      spec.updateStrategy = strategy
      const tpl = { ...obj(spec.template) }
      tpl.spec = defaultPodSpec(tpl.spec)
      spec.template = tpl
      x.spec = spec
      break
    }
    case 'jobs': {
      // pkg/apis/batch/v1/defaults.go: both unset → one completion with parallelism 1
      const spec = { ...obj(x.spec) }
      if (spec.completions === undefined && spec.parallelism === undefined) spec.completions = 1
      spec.parallelism ??= 1
      spec.backoffLimit ??= 6
      spec.completionMode ??= 'NonIndexed'
      spec.suspend ??= false
      const tpl = { ...obj(spec.template) }
      tpl.spec = defaultPodSpec(tpl.spec)
      spec.template = tpl
      x.spec = spec
      break
    }
    case 'cronjobs': {
      const spec = { ...obj(x.spec) }
      spec.concurrencyPolicy ??= 'Allow'
      spec.suspend ??= false
      spec.successfulJobsHistoryLimit ??= 3
      spec.failedJobsHistoryLimit ??= 1
      const jt = { ...obj(spec.jobTemplate) }
      const jspec = { ...obj(jt.spec) }
      const tpl = { ...obj(jspec.template) }
      tpl.spec = defaultPodSpec(tpl.spec)
      jspec.template = tpl
      jt.spec = jspec
      spec.jobTemplate = jt
      x.spec = spec
      break
    }
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
      // a new Service's status is empty, not absent: `{ loadBalancer: {} }` (update keeps the stored one)
      x.status ??= { loadBalancer: {} }
      break
    }
  }
  return x
}

/**
 * What the registry strategy sets once the object has its uid (PrepareForCreate): a Job
 * without manualSelector gets the selector and pod labels of its uid
 * (pkg/registry/batch/job/strategy.go generateSelectorIfNeeded).
 *
 *   prepareForCreate(RES.jobs, job with uid 'u1', name 'pi')
 *     → spec.selector.matchLabels { 'batch.kubernetes.io/controller-uid': 'u1' }, template labels with job-name 'pi'
 */
export function prepareForCreate(t: ResourceType, o: KObject): void {
  if (t.resource !== 'jobs') return
  const spec = obj((o as Obj).spec)
  if (spec.manualSelector === true) return
  const uid = o.metadata.uid ?? ''
  const tpl = { ...obj(spec.template) }
  const meta = { ...obj(tpl.metadata) }
  meta.labels = {
    ...obj(meta.labels),
    'batch.kubernetes.io/controller-uid': uid,
    'batch.kubernetes.io/job-name': o.metadata.name,
    'controller-uid': uid,
    'job-name': o.metadata.name,
  }
  tpl.metadata = meta
  // SetDefaults_Job (run again when the Job is read from storage): no labels → the template's
  if (Object.keys(o.metadata.labels ?? {}).length === 0)
    o.metadata.labels = { ...(meta.labels as Record<string, string>) }
  ;(o as Obj).spec = {
    ...spec,
    selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } },
    template: tpl,
  }
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
  return !['configmaps', 'secrets', 'endpoints', 'events', 'leases', 'serviceaccounts'].includes(t.resource)
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
  // the schema's checks: name formats per kind, required fields, enum values (see decode.ts)
  const message = kindMessage(t)
  if (message) causes.push(...schemaProblems(message, t.resource, o))
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
    const selectorErrors = selectorProblems(selector, 'spec.selector')
    causes.push(...selectorErrors)
    if (!selector || fromSelectorObject(selector).length === 0) {
      causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.selector' })
    } else if (selectorErrors.length > 0) {
      // the selector's own problems are reported above
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
  if (t.resource === 'daemonsets') {
    const spec = obj(x.spec)
    const selector = spec.selector as LabelSelectorObject | undefined
    const tpl = obj(spec.template)
    if (!selector || fromSelectorObject(selector).length === 0)
      causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.selector' })
    else if (!matches(obj(tpl.metadata).labels as Record<string, string>, fromSelectorObject(selector)))
      causes.push({
        reason: 'FieldValueInvalid',
        message: 'Invalid value: map[string]string{}: `selector` does not match template `labels`',
        field: 'spec.template.metadata.labels',
      })
    if (obj(tpl.spec).restartPolicy !== 'Always')
      causes.push({
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: "${String(obj(tpl.spec).restartPolicy)}": supported values: "Always"`,
        field: 'spec.template.spec.restartPolicy',
      })
    containersOf(tpl.spec, 'spec.template.spec')
  }
  if (t.resource === 'replicationcontrollers') {
    const spec = obj(x.spec)
    const tpl = obj(spec.template)
    const selector = obj(spec.selector) as Record<string, string>
    if (Object.keys(selector).length === 0)
      causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.selector' })
    else if (!Object.entries(selector).every(([k, v]) => obj(obj(tpl.metadata).labels)[k] === v))
      causes.push({
        reason: 'FieldValueInvalid',
        message: 'Invalid value: map[string]string{}: `selector` does not match template `labels`',
        field: 'spec.template.metadata.labels',
      })
    containersOf(tpl.spec, 'spec.template.spec')
  }
  if (t.resource === 'jobs' || t.resource === 'cronjobs') {
    const prefix = t.resource === 'jobs' ? 'spec.template' : 'spec.jobTemplate.spec.template'
    const spec = t.resource === 'jobs' ? obj(x.spec) : obj(obj(obj(x.spec).jobTemplate).spec)
    const podSpec = obj(obj(spec.template).spec)
    const policy = podSpec.restartPolicy
    if (policy !== 'Never' && policy !== 'OnFailure')
      causes.push({
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: "${String(policy)}": supported values: "OnFailure", "Never"`,
        field: `${prefix}.spec.restartPolicy`,
      })
    for (const f of ['completions', 'parallelism', 'backoffLimit'] as const) {
      const v = spec[f]
      if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 0))
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${JSON.stringify(v)}: must be greater than or equal to 0`,
          field: `${t.resource === 'jobs' ? 'spec' : 'spec.jobTemplate.spec'}.${f}`,
        })
    }
    containersOf(podSpec, `${prefix}.spec`)
    if (t.resource === 'cronjobs') {
      const schedule = obj(x.spec).schedule
      const why = typeof schedule === 'string' ? cronScheduleError(schedule) : 'Required value'
      if (why) causes.push({ reason: 'FieldValueInvalid', message: why, field: 'spec.schedule' })
      const tz = obj(x.spec).timeZone
      const tzWhy =
        tz === undefined || tz === null
          ? undefined
          : typeof tz === 'string'
            ? timeZoneError(tz)
            : 'Invalid value'
      if (tzWhy) causes.push({ reason: 'FieldValueInvalid', message: tzWhy, field: 'spec.timeZone' })
    }
  }
  causes.push(...sandboxPodSecurity(t.resource, x))
  const seen = new Set<string>()
  const unique = causes.filter((c) => {
    const key = `${c.field}\0${c.reason}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
  if (unique.length > 0) throw invalid(t, name || '', unique)
}
