import { describe, expect, it } from 'vitest'
import { fenceposts, maxScaleDown, newRSReplicas, resolveIntOrPercent, templateHash } from './rolling-math.js'

describe('rolling update math (deployment_util.go, rolling.go)', () => {
  it.each([
    ['25%', 4, true, 1],
    ['25%', 3, true, 1],
    ['25%', 3, false, 0],
    ['50%', 5, false, 2],
    [2, 10, false, 2],
  ])('resolveIntOrPercent(%j, %i, up=%s) = %i', (v, total, up, out) =>
    expect(resolveIntOrPercent(v, total, up)).toBe(out),
  )

  it.each([
    ['25%', '25%', 4, 1, 1],
    ['25%', 0, 4, 1, 0],
    [0, 0, 4, 0, 1],
    [1, 10, 3, 1, 3],
  ])('fenceposts(%j, %j, %i) = surge %i unavailable %i', (s, u, r, surge, unavailable) =>
    expect(fenceposts(s, u, r)).toEqual({ surge, unavailable }),
  )

  it.each([
    [{ replicas: 4, surge: 1, totalSpec: 4, newSpec: 0 }, 1],
    [{ replicas: 4, surge: 1, totalSpec: 5, newSpec: 1 }, 1],
    [{ replicas: 4, surge: 2, totalSpec: 4, newSpec: 0 }, 2],
    [{ replicas: 4, surge: 0, totalSpec: 6, newSpec: 6 }, 4],
    [{ replicas: 4, surge: 1, totalSpec: 4, newSpec: 4 }, 4],
  ])('newRSReplicas(%j) = %i', (o, out) => expect(newRSReplicas(o)).toBe(out))

  it.each([
    [{ replicas: 4, unavailable: 0, allSpec: 5, newUnavailable: 0 }, 1],
    [{ replicas: 4, unavailable: 0, allSpec: 5, newUnavailable: 1 }, 0],
    [{ replicas: 4, unavailable: 1, allSpec: 4, newUnavailable: 0 }, 1],
  ])('maxScaleDown(%j) = %i', (o, out) => expect(maxScaleDown(o)).toBe(out))

  it('hashes templates stably and distinctly', () => {
    expect(templateHash({ image: 'a:1' })).toBe(templateHash({ image: 'a:1' }))
    expect(templateHash({ image: 'a:1' })).not.toBe(templateHash({ image: 'a:2' }))
  })
})
