export interface PodView {
  name: string
  /** `spec.nodeName`; when known, messages name the node too (`pod x on node pi-2`). */
  node?: string
  phase?: string
  createdAt?: string
  containers: {
    waiting?: { reason?: string; message?: string }
    terminated?: { reason?: string; message?: string; exitCode?: number }
    lastTerminated?: { reason?: string; message?: string; exitCode?: number }
    restartCount: number
  }[]
  scheduledFalseReason?: string
}

/**
 * Names the reason a canary can never become healthy, from its pods' status, so a release
 * fails fast instead of waiting for a deadline. Undefined while nothing is known to be wrong.
 *
 *   fastFailReason([{ name: 'c', containers: [{ waiting: { reason: 'CrashLoopBackOff' }, restartCount: 2 }] }])
 *   → 'CrashLoopBackOff: pod c restarted 2 times'
 */
export function fastFailReason(pods: PodView[]): string | undefined {
  for (const pod of pods) {
    const p = { ...pod, name: pod.node ? `${pod.name} on node ${pod.node}` : pod.name }
    for (const c of p.containers) {
      const msgs = [c.terminated?.message, c.lastTerminated?.message, c.waiting?.message]
        .filter(Boolean)
        .join(' ')
      if (/exec format error/.test(msgs))
        return `exec format error: pod ${p.name} runs a binary of the wrong architecture`
      if (c.terminated?.reason === 'OOMKilled' || c.lastTerminated?.reason === 'OOMKilled')
        return `OOMKilled: pod ${p.name} exceeded its memory limit`
      const w = c.waiting?.reason
      if (w === 'ErrImagePull' || w === 'ImagePullBackOff')
        return `${w}: pod ${p.name}: ${c.waiting?.message ?? 'image cannot be pulled'}`
      if (w === 'CrashLoopBackOff') return `CrashLoopBackOff: pod ${p.name} restarted ${c.restartCount} times`
      if (w === 'CreateContainerConfigError' || w === 'CreateContainerError')
        return `${w}: pod ${p.name}: ${c.waiting?.message ?? ''}`
      if (c.restartCount >= 2) return `CrashLoopBackOff: pod ${p.name} restarted ${c.restartCount} times`
    }
    if (p.scheduledFalseReason) return `Unschedulable: pod ${p.name}: ${p.scheduledFalseReason}`
  }
  return undefined
}
