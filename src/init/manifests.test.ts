import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import type { Deployment } from '../ports.js'
import { appNamespace, appService, fillPlaceholders, stableDeployment } from './manifests.js'

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

describe('manifests come from templates/kubernetes', () => {
  const dir = join(import.meta.dirname, '..', '..', 'templates', 'kubernetes')
  const values = {
    APP: 'kubeapp',
    NAMESPACE: 'production',
    IMAGE: `r:5000/kubeapp:1.0@sha256:${'a'.repeat(64)}`,
    REPLICAS: '4',
    MEMORY_LIMIT: '64Mi',
  }
  /** What a user gets with `envsubst < FILE`: the same substitution, done here by plain text replacement. */
  const byHand = (file: string) => {
    let text = readFileSync(join(dir, file), 'utf8')
    for (const [k, v] of Object.entries(values)) text = text.replaceAll(`\${${k}}`, v)
    return parse(text) as unknown
  }

  it.each([
    [
      'deployment.yaml',
      () => stableDeployment({ app: 'kubeapp', namespace: 'production', image: values.IMAGE, replicas: 4 }),
    ],
    ['service.yaml', () => appService({ app: 'kubeapp', namespace: 'production' })],
    ['namespace.yaml', () => appNamespace('production')],
  ])('%s rendered equals the template with the values filled', (file, rendered) => {
    expect(rendered()).toEqual(byHand(file))
  })

  it('the filled deployment template is a complete stable Deployment (replicas a number, image by digest)', () => {
    const d = byHand('deployment.yaml') as Deployment
    expect(d).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'kubeapp' } })
    expect(d.spec.replicas).toBe(4)
    expect(d.spec.template.spec.containers[0].image).toBe(values.IMAGE)
  })

  it.each([
    // text, values, result
    // biome-ignore lint/suspicious/noTemplateCurlyInString: envsubst placeholders, checked literally
    ['name: ${APP}', { APP: 'kubeapp' }, 'name: kubeapp'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: envsubst placeholders, checked literally
    ['${APP}-canary in ${NAMESPACE}', { APP: 'a', NAMESPACE: 'b' }, 'a-canary in b'],
    ['no placeholders', {}, 'no placeholders'],
    ['$APP and $(APP) stay', { APP: 'x' }, '$APP and $(APP) stay'],
  ])('fillPlaceholders(%j)', (text, v, out) => {
    expect(fillPlaceholders(text, v)).toBe(out)
  })

  it('a placeholder without a value is an error, never an empty field', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: envsubst placeholders, checked literally
    expect(() => fillPlaceholders('image: "${IMAGE}"', {})).toThrow('${IMAGE} has no value')
  })
})
