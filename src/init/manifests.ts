import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { packageRoot } from '../package-root.js'
import type { Deployment, Service } from '../ports.js'

export interface AppManifestInput {
  app: string
  namespace: string
  image: string
  replicas: number
  /** Memory limit of each pod; the sandbox OOM-kills over it as a kubelet would. */
  memoryLimit?: string
}

/** templates/kubernetes of the installed package (the package ships templates/, as it does the Dockerfile). */
export function kubernetesTemplatesDir(): string {
  return join(packageRoot(), 'templates', 'kubernetes')
}

/**
 * Fills the envsubst-style placeholders (`${APP}`) of a template. Every placeholder in the text
 * must have a value, so a template and the code that renders it cannot drift apart silently.
 *
 *   fillPlaceholders('name: ${APP}', { APP: 'kubeapp' }) → 'name: kubeapp'
 *   fillPlaceholders('name: ${APP}', {}) → throws 'no value for ${APP}'
 */
export function fillPlaceholders(text: string, values: Record<string, string>): string {
  return text.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (_, name: string) => {
    const v = values[name]
    if (v === undefined) throw new Error(`template placeholder \${${name}} has no value`)
    return v
  })
}

function render<T>(file: string, values: Record<string, string>): T {
  const text = readFileSync(join(kubernetesTemplatesDir(), file), 'utf8')
  return parse(fillPlaceholders(text, values)) as T
}

/** The Namespace `init` creates: templates/kubernetes/namespace.yaml. */
export function appNamespace(namespace: string): {
  apiVersion: string
  kind: string
  metadata: { name: string; labels?: Record<string, string> }
} {
  return render('namespace.yaml', { NAMESPACE: namespace })
}

/**
 * The stable Deployment `init` applies, rendered from templates/kubernetes/deployment.yaml:
 * labels app=<app>, track=stable (the canary gets track=canary, so the two selectors are
 * disjoint), readiness and liveness on /health, rolling with maxUnavailable 0, deployed by digest.
 *
 *   stableDeployment({ app: 'kubeapp', namespace: 'production', image: 'r/kubeapp:1.0@sha256:…', replicas: 4 }).spec.selector
 *   → { matchLabels: { app: 'kubeapp', track: 'stable' } }
 */
export function stableDeployment(i: AppManifestInput): Deployment {
  return render('deployment.yaml', {
    APP: i.app,
    NAMESPACE: i.namespace,
    IMAGE: i.image,
    REPLICAS: String(i.replicas),
    MEMORY_LIMIT: i.memoryLimit ?? '64Mi',
  })
}

/**
 * The LoadBalancer Service, rendered from templates/kubernetes/service.yaml: port 80 → the
 * pods' `http` port, selecting only app=<app> so stable and canary pods share the traffic by count.
 */
export function appService(i: Pick<AppManifestInput, 'app' | 'namespace'>): Service {
  return render('service.yaml', { APP: i.app, NAMESPACE: i.namespace })
}
