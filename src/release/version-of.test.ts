import { describe, expect, it } from 'vitest'
import type { Deployment } from '../ports.js'
import { versionOf } from './engine.js'
import { STATE_ANNOTATION } from './state.js'

const D = `sha256:${'b'.repeat(64)}`
const deployment = (image: string, state?: object): Deployment => ({
  metadata: { name: 'kubeapp', annotations: state ? { [STATE_ANNOTATION]: JSON.stringify(state) } : {} },
  spec: { selector: {}, template: { spec: { containers: [{ name: 'kubeapp', image }] } } },
})

describe('versionOf (the stable version a release starts from)', () => {
  it.each([
    // image, state, version
    [`127.0.0.1:5000/kubeapp:1.0@${D}`, undefined, '1.0'],
    // the registry's port is not a version: a digest-only image has none
    [`127.0.0.1:5000/kubeapp@${D}`, undefined, undefined],
    ['127.0.0.1:5000/kubeapp', undefined, undefined],
    [`127.0.0.1:5000/kubeapp@${D}`, { version: '2.0', phase: 'Succeeded' }, '2.0'],
    [`127.0.0.1:5000/kubeapp:1.0@${D}`, { version: '2.0', phase: 'RolledBack' }, '1.0'],
  ])('%s with %j → %s', (image, state, version) => {
    expect(versionOf(deployment(image, state))).toBe(version)
  })
})
