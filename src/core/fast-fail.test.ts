import { describe, expect, it } from 'vitest'
import { fastFailReason, type PodView } from './fast-fail.js'

const pod = (c: PodView['containers'][number], extra: Partial<PodView> = {}): PodView[] => [
  { name: 'kubeapp-canary-x', containers: [c], ...extra },
]

describe('fastFailReason', () => {
  it.each([
    [pod({ waiting: { reason: 'CrashLoopBackOff' }, restartCount: 2 }), 'CrashLoopBackOff'],
    [pod({ waiting: { reason: 'ErrImagePull', message: 'not found' }, restartCount: 0 }), 'ErrImagePull'],
    [pod({ waiting: { reason: 'ImagePullBackOff' }, restartCount: 0 }), 'ImagePullBackOff'],
    [
      pod({
        terminated: { reason: 'Error', message: 'exec /app: exec format error', exitCode: 1 },
        restartCount: 0,
      }),
      'exec format error',
    ],
    [pod({ lastTerminated: { reason: 'OOMKilled', exitCode: 137 }, restartCount: 1 }), 'OOMKilled'],
    [pod({ restartCount: 0 }, { scheduledFalseReason: '0/4 nodes are available' }), 'Unschedulable'],
  ])('%j → %s', (pods, reason) => expect(fastFailReason(pods)).toContain(reason))

  it.each([
    [
      pod(
        { terminated: { reason: 'Error', message: 'exec /app: exec format error' }, restartCount: 0 },
        { node: 'pi-2' },
      ),
      'exec format error: pod kubeapp-canary-x on node pi-2 runs a binary of the wrong architecture',
    ],
    [
      pod({ waiting: { reason: 'ErrImagePull', message: 'not found' }, restartCount: 0 }, { node: 'pi-1' }),
      'ErrImagePull: pod kubeapp-canary-x on node pi-1: not found',
    ],
    [
      pod({ waiting: { reason: 'CrashLoopBackOff' }, restartCount: 3 }, { node: 'pi-3' }),
      'CrashLoopBackOff: pod kubeapp-canary-x on node pi-3 restarted 3 times',
    ],
  ])('names the node: %j → %s', (pods, reason) => expect(fastFailReason(pods)).toBe(reason))

  it.each([
    [pod({ waiting: { reason: 'ContainerCreating' }, restartCount: 0 })],
    [pod({ restartCount: 0 })],
    [pod({ restartCount: 1, lastTerminated: { reason: 'Error', exitCode: 1 } })],
  ])('nothing wrong yet: %j', (pods) => expect(fastFailReason(pods)).toBeUndefined())
})
