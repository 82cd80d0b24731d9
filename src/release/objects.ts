// The objects a release drives and how it reads them: the canary Deployment made from the
// stable one, pod conditions, and the version a stable Deployment runs.
import type { Deployment, Pod } from '../ports.js'
import { readState, versionOfImage } from './state.js'

/** The readiness gate the engine opens once a canary pod passed the pre-traffic gate. */
export const GATE = 'edgecanary.dev/gate'

export function canaryName(app: string): string {
  return `${app}-canary`
}

/** The canary Deployment: the stable's pod template, the new image and env, its own track and a readiness gate. */
export function canaryDeployment(
  stable: Deployment,
  app: string,
  image: string,
  env: Record<string, string>,
  replicas: number,
  progressDeadlineSeconds = 60,
): Deployment {
  const tpl = structuredClone(stable.spec.template)
  const labels = { ...(tpl.metadata?.labels ?? {}), app, track: 'canary' }
  const containers = tpl.spec.containers.map((c, i) =>
    i === 0
      ? {
          ...c,
          image,
          env: [
            ...(c.env ?? []).filter((e) => !(e.name in env)),
            ...Object.entries(env).map(([name, value]) => ({ name, value })),
          ],
        }
      : c,
  )
  return {
    metadata: {
      name: canaryName(app),
      labels: { app, track: 'canary', 'app.kubernetes.io/managed-by': 'edgecanary' },
    },
    spec: {
      replicas,
      progressDeadlineSeconds,
      selector: { matchLabels: { app, track: 'canary' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '100%', maxUnavailable: 0 } },
      template: {
        metadata: { ...tpl.metadata, labels },
        spec: { ...tpl.spec, containers, readinessGates: [{ conditionType: GATE }] },
      },
    },
  }
}

export const cond = (p: Pod, type: string) =>
  p.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false

/** The version a stable Deployment runs: its last promoted release's, else its image's tag (none for a digest-only image). */
export function versionOf(d: Deployment): string | undefined {
  const state = readState(d)
  return state?.phase === 'Succeeded'
    ? state.version
    : versionOfImage(d.spec.template.spec.containers[0]?.image)
}
