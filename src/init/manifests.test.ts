import { describe, expect, it } from 'vitest'
import { appService, stableDeployment } from './manifests.js'

describe('init manifests', () => {
  const d = stableDeployment({
    app: 'kubeapp',
    namespace: 'production',
    image: 'r:5000/kubeapp:1.0@sha256:ab',
    replicas: 4,
  })

  it('selects stable pods only; the Service selects the app only', () => {
    expect(d.spec.selector).toEqual({ matchLabels: { app: 'kubeapp', track: 'stable' } })
    expect(d.spec.template.metadata?.labels).toEqual({ app: 'kubeapp', track: 'stable' })
    expect(appService({ app: 'kubeapp', namespace: 'production' }).spec).toEqual({
      type: 'LoadBalancer',
      selector: { app: 'kubeapp' },
      ports: [{ name: 'http', port: 80, targetPort: 'http' }],
    })
  })

  it('probes /health, never drops capacity while rolling, and deploys by digest', () => {
    const c = d.spec.template.spec.containers[0]
    expect(c.image).toContain('@sha256:')
    expect(c.readinessProbe).toMatchObject({ httpGet: { path: '/health', port: 'http' } })
    expect(c.livenessProbe).toMatchObject({ httpGet: { path: '/health', port: 'http' } })
    expect(d.spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 },
    })
    expect(d.spec.replicas).toBe(4)
  })
})
