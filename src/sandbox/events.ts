import { createHash } from 'node:crypto'
import { RES } from './resources.js'
import type { KObject, ObjectStore } from './types.js'

/**
 * Records a core/v1 Event about an object, aggregating repeats (same object, reason and
 * message) into one Event with a growing `count`, as the Kubernetes event recorder does.
 */
export function recordEvent(
  store: ObjectStore,
  involved: KObject,
  reason: string,
  message: string,
  opts: { type?: 'Normal' | 'Warning'; component?: string; host?: string } = {},
): void {
  const ns = involved.metadata.namespace ?? 'default'
  const key = createHash('sha1')
    .update(`${involved.metadata.uid}/${reason}/${message}`)
    .digest('hex')
    .slice(0, 16)
  const name = `${involved.metadata.name}.${key}`
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
  try {
    const existing = store.get(RES.events, ns, name)
    if (existing) {
      store.update(RES.events, { ...existing, count: Number(existing.count ?? 1) + 1, lastTimestamp: now })
      return
    }
    store.create(RES.events, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: ns },
      involvedObject: {
        kind: involved.kind,
        namespace: involved.metadata.namespace,
        name: involved.metadata.name,
        uid: involved.metadata.uid,
        apiVersion: involved.apiVersion,
        resourceVersion: involved.metadata.resourceVersion,
      },
      reason,
      message,
      type: opts.type ?? 'Normal',
      source: {
        component: opts.component ?? 'edgecanary-sandbox',
        ...(opts.host ? { host: opts.host } : {}),
      },
      reportingComponent: opts.component ?? 'edgecanary-sandbox',
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    })
  } catch {
    // events are best effort, as in Kubernetes (e.g. the namespace is being deleted)
  }
}
