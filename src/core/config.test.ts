import { describe, expect, it } from 'vitest'
import { parseDuration, validateConfig } from './config.js'

describe('validateConfig', () => {
  it('fills the documented defaults', () => {
    const r = validateConfig({})
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.config).toMatchObject({
      app: 'kubeapp',
      namespace: 'production',
      replicas: 4,
      steps: [25, 50, 75],
      analysis: { interval: '10s', iterations: 3, threshold: 2, load: 10 },
      progressDeadline: '60s',
      leaseDuration: '15s',
    })
  })

  it.each([
    [{ app: 'Kube_App' }, 'app: must be lowercase'],
    [{ replicas: 0 }, 'replicas:'],
    [{ analysis: { interval: 'ten' } }, 'analysis.interval: must be a duration'],
    [{ steps: [0] }, 'steps.0:'],
    [{ colour: 'blue' }, 'colour'],
  ])('names the field and the problem for %j', (doc, expected) => {
    const r = validateConfig(doc)
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.problems.join('\n')).toContain(expected)
  })
})

describe('parseDuration', () => {
  it.each([
    ['10s', 10_000],
    ['1.5s', 1_500],
    ['500ms', 500],
    ['2m', 120_000],
  ])('%s = %i ms', (text, ms) => expect(parseDuration(text)).toBe(ms))

  it('rejects text that is not a duration', () => expect(() => parseDuration('10')).toThrow())
})
