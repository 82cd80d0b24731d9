import type { KObject, ResourceType } from '../types.js'

/**
 * Resources whose registry sets `ReturnDeletedObject: true` in kube-apiserver
 * (pkg/registry/core/{pod,service,serviceaccount}/storage): a delete that removes the object
 * at once answers with the object. Every other resource answers `Status{Success}`.
 */
const RETURNS_DELETED_OBJECT = new Set(['pods', 'services', 'serviceaccounts'])

/**
 * kube-apiserver's default garbage-collection policy when a DELETE names none: `Orphan` for
 * `batch/v1` Jobs and `v1` ReplicationControllers, kept for backward compatibility
 * (`DefaultGarbageCollectionPolicy` of their strategies); `Background` for everything else.
 * kubectl always sends `Background`, so only other clients (e.g. the Python client's `body={}`)
 * see the difference: the Job goes, its pods stay.
 *
 * @example defaultPropagation({ group: 'batch', resource: 'jobs', … }) // 'Orphan'
 */
export function defaultPropagation(t: Pick<ResourceType, 'group' | 'resource'>): 'Orphan' | 'Background' {
  if (t.group === 'batch' && t.resource === 'jobs') return 'Orphan'
  if (t.group === '' && t.resource === 'replicationcontrollers') return 'Orphan'
  return 'Background'
}

/**
 * The body of a 200 answer to DELETE on one object, as the generic registry's `Delete` and
 * `finalizeDelete` build it:
 * - while the object is still there (a graceful pod, finalizers, a Terminating namespace, a dry
 *   run): the object itself;
 * - `Orphan` or `Foreground` propagation: kube-apiserver adds the `orphan` or
 *   `foregroundDeletion` finalizer and answers the object with it and a deletionTimestamp,
 *   the garbage collector finishing the delete (the sandbox finishes it at once);
 * - removed at once: the object for the resources above, otherwise
 *   `{"kind":"Status","apiVersion":"v1","status":"Success","details":{"name","group","kind":<resource>,"uid"}}`.
 *
 * @example deleteAnswer(RES.jobs, job, { stillThere: false, policy: 'Background', now }) // { kind: 'Status', status: 'Success', details: { name: 'pi', group: 'batch', kind: 'jobs', uid } }
 */
export function deleteAnswer(
  t: ResourceType,
  deleted: KObject,
  how: { stillThere: boolean; policy?: string; now: string },
): KObject | Record<string, unknown> {
  if (how.stillThere) return deleted
  const finalizer =
    how.policy === 'Orphan' ? 'orphan' : how.policy === 'Foreground' ? 'foregroundDeletion' : undefined
  if (finalizer) {
    const finalizers = [...(deleted.metadata.finalizers ?? []).filter((f) => f !== finalizer), finalizer]
    return {
      ...deleted,
      metadata: {
        ...deleted.metadata,
        deletionTimestamp: deleted.metadata.deletionTimestamp ?? how.now,
        deletionGracePeriodSeconds: 0,
        finalizers,
      },
    }
  }
  if (RETURNS_DELETED_OBJECT.has(t.resource)) return deleted
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: {
      name: deleted.metadata.name,
      group: t.group,
      kind: t.resource,
      uid: deleted.metadata.uid,
    },
  }
}
