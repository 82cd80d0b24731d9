import { describe, expect, it } from 'vitest'
import { kubeletWait } from '../helpers/pod-timeline.js'

describe('kubeletWait', () => {
  it.each([
    // wave, ms only the kubelet stood between the last container running and the last pod ContainersReady
    [[{ running: 100, containersReady: 900 }], 800],
    [
      [
        { running: 100, containersReady: 900 },
        { running: 150, containersReady: 905 },
      ],
      755,
    ],
    // a pod Ready before the last container of the wave ran: the wait starts at that start
    [
      [
        { running: 100, containersReady: 300 },
        { running: 400, containersReady: 1400 },
      ],
      1000,
    ],
    [[{ running: 100 }], undefined],
    [[], undefined],
  ])('%j → %s', (wave, ms) => {
    expect(kubeletWait(wave)).toBe(ms)
  })
})
