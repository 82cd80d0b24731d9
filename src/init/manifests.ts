import type { Deployment, Service } from '../ports.js'

export interface AppManifestInput {
  app: string
  namespace: string
  image: string
  replicas: number
  /** Memory limit of each pod; the sandbox OOM-kills over it as a kubelet would. */
  memoryLimit?: string
}

/**
 * The stable Deployment `init` applies: labels app=<app>, track=stable (the canary gets
 * track=canary, so the two selectors are disjoint), readiness and liveness on /health,
 * rolling with maxUnavailable 0, deployed by digest.
 *
 *   stableDeployment({ app: 'kubeapp', namespace: 'production', image: 'r/kubeapp:1.0@sha256:…', replicas: 4 }).spec.selector
 *   → { matchLabels: { app: 'kubeapp', track: 'stable' } }
 */
export function stableDeployment(i: AppManifestInput): Deployment {
  const labels = { app: i.app, track: 'stable' }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: i.app,
      namespace: i.namespace,
      labels: { ...labels, 'app.kubernetes.io/managed-by': 'edgecanary' },
    },
    spec: {
      replicas: i.replicas,
      selector: { matchLabels: labels },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 10,
          containers: [
            {
              name: i.app,
              image: i.image,
              ports: [{ name: 'http', containerPort: 8080 }],
              env: [{ name: 'DRAIN_SECONDS', value: '1' }],
              readinessProbe: {
                httpGet: { path: '/health', port: 'http' },
                periodSeconds: 1,
                failureThreshold: 2,
              },
              livenessProbe: {
                httpGet: { path: '/health', port: 'http' },
                periodSeconds: 5,
                failureThreshold: 3,
                initialDelaySeconds: 5,
              },
              resources: { limits: { memory: i.memoryLimit ?? '64Mi' }, requests: { memory: '16Mi' } },
            },
          ],
        },
      },
    },
  }
}

/**
 * The LoadBalancer Service: port 80 → the pods' `http` port, selecting only app=<app> so
 * stable and canary pods share the traffic by count.
 */
export function appService(i: Pick<AppManifestInput, 'app' | 'namespace'>): Service {
  return {
    metadata: {
      name: i.app,
      namespace: i.namespace,
      labels: { app: i.app, 'app.kubernetes.io/managed-by': 'edgecanary' },
    },
    spec: {
      type: 'LoadBalancer',
      selector: { app: i.app },
      ports: [{ name: 'http', port: 80, targetPort: 'http' }],
    },
  }
}
