import type { ResourceType } from './types.js'

export interface StatusCause {
  reason: string
  message: string
  field: string
}

export interface StatusObject {
  kind: 'Status'
  apiVersion: 'v1'
  metadata: Record<string, never>
  status: 'Failure'
  message: string
  reason: string
  details?: {
    name?: string
    group?: string
    kind?: string
    causes?: StatusCause[]
    retryAfterSeconds?: number
  }
  code: number
}

/** An API error carried as the `Status` object kube-apiserver would answer. */
export class ApiStatusError extends Error {
  readonly code: number
  constructor(readonly status: StatusObject) {
    super(status.message)
    this.code = status.code
  }
}

function qualified(t: ResourceType): string {
  return t.group ? `${t.resource}.${t.group}` : t.resource
}

function make(
  code: number,
  reason: string,
  message: string,
  details?: StatusObject['details'],
): ApiStatusError {
  return new ApiStatusError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    details,
    code,
  })
}

/** `deployments.apps "x" not found` (404). */
export function notFound(t: ResourceType, name: string): ApiStatusError {
  return make(404, 'NotFound', `${qualified(t)} "${name}" not found`, {
    name,
    group: t.group,
    kind: t.resource,
  })
}

/** `deployments.apps "x" already exists` (409). */
export function alreadyExists(t: ResourceType, name: string): ApiStatusError {
  return make(409, 'AlreadyExists', `${qualified(t)} "${name}" already exists`, {
    name,
    group: t.group,
    kind: t.resource,
  })
}

/** Optimistic-concurrency conflict (409), with `details.kind` the plural resource. */
export function conflict(t: ResourceType, name: string): ApiStatusError {
  return make(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(t)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group: t.group, kind: t.resource },
  )
}

/** 422: `Deployment.apps "x" is invalid: spec.selector: Invalid value: …: field is immutable`. */
export function invalid(t: ResourceType, name: string, causes: StatusCause[]): ApiStatusError {
  const kind = t.group ? `${t.kind}.${t.group}` : t.kind
  const text = causes.map((c) => `${c.field}: ${c.message}`).join(', ')
  return make(422, 'Invalid', `${kind} "${name}" is invalid: ${text}`, {
    name,
    group: t.group,
    kind: t.kind,
    causes,
  })
}

export function expired(requested: number, oldest: number): ApiStatusError {
  return make(410, 'Expired', `too old resource version: ${requested} (${oldest})`)
}

/** 403 for new content in a Terminating namespace, as the NamespaceLifecycle admission plugin answers. */
export function namespaceTerminating(t: ResourceType, name: string, ns: string): ApiStatusError {
  return make(
    403,
    'Forbidden',
    `${qualified(t)} "${name}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
    { name, group: t.group, kind: t.resource },
  )
}

/**
 * 422 for a JSON patch that does not apply (a failed `test`, a missing path), as kube-apiserver's
 * patch handler answers it: NewGenericServerResponse(422) with the patch library's error as the cause.
 */
export function patchNotApplied(message: string): ApiStatusError {
  return make(422, 'Invalid', 'the server rejected our request due to an error in our request', {
    causes: [{ reason: 'UnexpectedServerResponse', message, field: '' }],
  })
}

export function badRequest(message: string): ApiStatusError {
  return make(400, 'BadRequest', message)
}

export function methodNotAllowed(message: string): ApiStatusError {
  return make(405, 'MethodNotAllowed', message)
}

export function tooManyRequests(): ApiStatusError {
  return make(
    429,
    'TooManyRequests',
    'the server has received too many requests and has asked us to try again later',
    {
      retryAfterSeconds: 1,
    },
  )
}

export function internalError(message: string): ApiStatusError {
  return make(500, 'InternalError', `Internal error occurred: ${message}`)
}

export function unauthorized(): ApiStatusError {
  return make(401, 'Unauthorized', 'Unauthorized')
}

export function unsupportedMediaType(type: string): ApiStatusError {
  return make(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml (got ${type})`,
  )
}

/** etcd's refusal of a value over its 1.5 MiB request limit, as kube-apiserver passes it on (500, no reason). */
export function requestTooLarge(): ApiStatusError {
  return make(500, '', 'etcdserver: request is too large')
}

/** 406: the Accept header names no format the server can answer in. */
export function notAcceptable(): ApiStatusError {
  return make(
    406,
    'NotAcceptable',
    'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf',
  )
}
