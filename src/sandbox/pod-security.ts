/** One 422 cause, as the API server's validation reports it. */
export interface SecurityCause {
  reason: 'FieldValueForbidden'
  message: string
  field: string
}

type Obj = Record<string, unknown>
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {})

const WHY = 'the sandbox runs pods as rootless containers and cannot honour it'

/** Where the pod spec of an object of `resource` is: the pod's own, or its template's. */
function podSpecPath(resource: string): string[] | undefined {
  if (resource === 'pods') return ['spec']
  if (
    ['deployments', 'replicasets', 'daemonsets', 'statefulsets', 'jobs', 'replicationcontrollers'].includes(
      resource,
    )
  )
    return ['spec', 'template', 'spec']
  if (resource === 'cronjobs') return ['spec', 'jobTemplate', 'spec', 'template', 'spec']
  return undefined
}

/**
 * The fields of a pod spec the sandbox's rootless containers cannot honour, each refused with
 * the field named (instead of silently ignored): `hostNetwork`, `hostPID`, `hostIPC`,
 * `hostPath` volumes, `privileged`, added capabilities, and `hostPort`.
 *
 *   sandboxPodSecurity('pods', { spec: { hostNetwork: true, containers: [] } })
 *     → [{ reason: 'FieldValueForbidden', field: 'spec.hostNetwork', message: 'Forbidden: …' }]
 *   sandboxPodSecurity('deployments', { spec: { template: { spec: { containers: [{ securityContext: { privileged: true } }] } } } })
 *     → [{ …, field: 'spec.template.spec.containers[0].securityContext.privileged' }]
 */
export function sandboxPodSecurity(resource: string, o: unknown): SecurityCause[] {
  const path = podSpecPath(resource)
  if (!path) return []
  let spec: unknown = o
  for (const k of path) spec = obj(spec)[k]
  const s = obj(spec)
  const at = path.join('.')
  const out: SecurityCause[] = []
  const forbid = (field: string) =>
    out.push({ reason: 'FieldValueForbidden', message: `Forbidden: ${WHY}`, field })
  for (const k of ['hostNetwork', 'hostPID', 'hostIPC']) if (s[k] === true) forbid(`${at}.${k}`)
  const volumes = Array.isArray(s.volumes) ? s.volumes : []
  volumes.forEach((v, i) => {
    if (obj(v).hostPath !== undefined) forbid(`${at}.volumes[${i}].hostPath`)
  })
  for (const kind of ['initContainers', 'containers', 'ephemeralContainers']) {
    const cs = Array.isArray(s[kind]) ? (s[kind] as unknown[]) : []
    cs.forEach((c, i) => {
      const sc = obj(obj(c).securityContext)
      const base = `${at}.${kind}[${i}]`
      if (sc.privileged === true) forbid(`${base}.securityContext.privileged`)
      const add = obj(sc.capabilities).add
      if (Array.isArray(add) && add.length > 0) forbid(`${base}.securityContext.capabilities.add`)
      const ports = Array.isArray(obj(c).ports) ? (obj(c).ports as unknown[]) : []
      ports.forEach((p, j) => {
        if (obj(p).hostPort !== undefined && obj(p).hostPort !== 0) forbid(`${base}.ports[${j}].hostPort`)
      })
    })
  }
  return out
}
