import { describe, expect, it } from 'vitest'
import { sandboxPodSecurity } from './pod-security.js'

describe('sandboxPodSecurity (fields a rootless sandbox refuses, named)', () => {
  const pod = (spec: object) => ({ spec: { containers: [{ name: 'a', image: 'x' }], ...spec } })
  it.each([
    [{ hostNetwork: true }, 'spec.hostNetwork'],
    [{ hostPID: true }, 'spec.hostPID'],
    [
      {
        volumes: [
          { name: 'v', emptyDir: {} },
          { name: 'h', hostPath: { path: '/' } },
        ],
      },
      'spec.volumes[1].hostPath',
    ],
    [
      { containers: [{ name: 'a', securityContext: { privileged: true } }] },
      'spec.containers[0].securityContext.privileged',
    ],
    [
      { containers: [{ name: 'a', securityContext: { capabilities: { add: ['NET_ADMIN'] } } }] },
      'spec.containers[0].securityContext.capabilities.add',
    ],
    [
      { containers: [{ name: 'a', ports: [{ containerPort: 80, hostPort: 80 }] }] },
      'spec.containers[0].ports[0].hostPort',
    ],
  ])('%o → %s', (spec, field) =>
    expect(sandboxPodSecurity('pods', pod(spec)).map((c) => c.field)).toEqual([field]),
  )
  it('a Deployment template is checked at its path', () =>
    expect(
      sandboxPodSecurity('deployments', { spec: { template: { spec: { hostNetwork: true } } } }).map(
        (c) => c.field,
      ),
    ).toEqual(['spec.template.spec.hostNetwork']))
  it('what it can honour passes: runAsUser, dropped capabilities, emptyDir', () =>
    expect(
      sandboxPodSecurity(
        'pods',
        pod({
          securityContext: { runAsUser: 1000 },
          volumes: [{ name: 'v', emptyDir: {} }],
          containers: [
            { name: 'a', securityContext: { capabilities: { drop: ['ALL'] }, runAsNonRoot: true } },
          ],
        }),
      ),
    ).toEqual([]))
})
