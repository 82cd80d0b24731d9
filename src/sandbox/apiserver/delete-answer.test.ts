import { describe, expect, it } from 'vitest'
import { RES } from '../resources.js'
import type { KObject } from '../types.js'
import { defaultPropagation, deleteAnswer } from './delete-answer.js'

const obj = (name: string): KObject => ({
  apiVersion: 'v1',
  kind: 'X',
  metadata: { name, namespace: 'default', uid: `uid-${name}` },
})

describe('deleteAnswer (kube-apiserver finalizeDelete / ReturnDeletedObject)', () => {
  it.each([
    // resource, still there, answer kind
    ['jobs', false, 'Status'],
    ['deployments', false, 'Status'],
    ['configmaps', false, 'Status'],
    ['replicationcontrollers', false, 'Status'],
    ['pods', false, 'Pod'],
    ['services', false, 'Service'],
    ['serviceaccounts', false, 'ServiceAccount'],
    ['jobs', true, 'Job'],
    ['pods', true, 'Pod'],
    ['namespaces', true, 'Namespace'],
  ] as const)('%s removed=%s → %s', (resource, stillThere, kind) => {
    const t = RES[resource]
    const o = { ...obj('a'), kind: t.kind }
    const answer = deleteAnswer(t, o, {
      stillThere,
      policy: 'Background',
      now: '2026-12-05T00:00:00Z',
    }) as Record<string, unknown>
    expect(answer.kind).toBe(kind)
    if (kind === 'Status') {
      expect(answer).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: { name: 'a', group: t.group, kind: resource, uid: 'uid-a' },
      })
    } else expect(answer).toBe(o)
  })
})

describe('deleteAnswer with Orphan or Foreground propagation', () => {
  it.each([
    ['Orphan', 'orphan'],
    ['Foreground', 'foregroundDeletion'],
  ] as const)('%s: the object with the %s finalizer and a deletionTimestamp', (policy, finalizer) => {
    const job = { ...obj('pi'), kind: 'Job' }
    const answer = deleteAnswer(RES.jobs, job, {
      stillThere: false,
      policy,
      now: '2026-12-05T00:00:00Z',
    }) as KObject
    expect(answer.kind).toBe('Job')
    expect(answer.metadata.finalizers).toEqual([finalizer])
    expect(answer.metadata.deletionTimestamp).toBe('2026-12-05T00:00:00Z')
    expect(job.metadata.finalizers).toBeUndefined()
  })
})

describe('defaultPropagation (DefaultGarbageCollectionPolicy)', () => {
  it.each([
    ['jobs', 'Orphan'],
    ['replicationcontrollers', 'Orphan'],
    ['deployments', 'Background'],
    ['replicasets', 'Background'],
    ['daemonsets', 'Background'],
    ['cronjobs', 'Background'],
    ['pods', 'Background'],
  ] as const)('%s → %s', (resource, policy) => {
    expect(defaultPropagation(RES[resource])).toBe(policy)
  })
})
