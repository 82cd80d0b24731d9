import { describe, expect, it } from 'vitest'
import { decodeObject, nameProblems, schemaProblems } from './decode.js'

const CM = 'k8s.io.api.core.v1.ConfigMap'
const DEPLOY = 'k8s.io.api.apps.v1.Deployment'
const cm = { kind: 'ConfigMap', version: 'v1' }
const deploy = { kind: 'Deployment', version: 'v1' }
const podSpec = (c: Record<string, unknown>) => ({
  metadata: { name: 'd' },
  spec: {
    selector: { matchLabels: { a: 'b' } },
    template: { spec: { containers: [{ name: 'app', image: 'x', ...c }] } },
  },
})

describe('decoding bodies through the 1.32 schema', () => {
  it.each([
    [
      CM,
      cm,
      { metadata: { name: 'a' }, data: { flag: true } },
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal bool into Go struct field ConfigMap.data of type string',
    ],
    [
      CM,
      cm,
      { metadata: { name: 'a' }, data: 'x' },
      'json: cannot unmarshal string into Go struct field ConfigMap.data of type map[string]string',
    ],
    [
      CM,
      cm,
      { metadata: { name: 'a', labels: ['x'] } },
      'json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type map[string]string',
    ],
    [
      DEPLOY,
      deploy,
      { metadata: { name: 'd' }, spec: { replicas: '3' } },
      'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32',
    ],
    [
      DEPLOY,
      deploy,
      { metadata: { name: 'd' }, spec: { replicas: 1.5 } },
      'json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32',
    ],
    [
      DEPLOY,
      deploy,
      podSpec({ ports: [{ containerPort: 'http' }] }),
      'json: cannot unmarshal string into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32',
    ],
    [
      DEPLOY,
      deploy,
      podSpec({ resources: { limits: { cpu: 'lots' } } }),
      'quantities must match the regular expression',
    ],
    [
      DEPLOY,
      deploy,
      podSpec({ resources: { limits: { memory: '1Mii' } } }),
      "unable to parse quantity's suffix",
    ],
    [
      DEPLOY,
      deploy,
      podSpec({ readinessProbe: { httpGet: { port: true } } }),
      'json: cannot unmarshal bool into Go value of type int32',
    ],
  ])('%s %j → 400', (message, kind, body, text) => {
    expect(() => decodeObject(message, kind, body, 'Ignore')).toThrow(text)
  })

  it('accepts int-or-string, quantities as numbers or strings, and drops nulls', () => {
    const { object } = decodeObject(
      DEPLOY,
      deploy,
      podSpec({
        readinessProbe: { httpGet: { port: 'http' } },
        resources: { limits: { cpu: 1, memory: '64Mi' } },
        args: null,
      }),
      'Strict',
    )
    expect(object).toMatchObject(podSpec({ readinessProbe: { httpGet: { port: 'http' } } }))
    expect(JSON.stringify(object)).not.toContain('args')
  })

  it('drops unknown fields; Warn names them, Strict refuses them all at once', () => {
    const body = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a', nme: 'x' },
      data: { k: 'v' },
      extra: 1,
    }
    const warned = decodeObject(CM, cm, body, 'Warn')
    expect(warned.object).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a' },
      data: { k: 'v' },
    })
    expect(warned.warnings).toEqual(['unknown field "metadata.nme"', 'unknown field "extra"'])
    expect(decodeObject(CM, cm, body, 'Ignore').warnings).toEqual([])
    expect(() => decodeObject(CM, cm, body, 'Strict')).toThrow(
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "metadata.nme", unknown field "extra"',
    )
    expect(() => decodeObject(DEPLOY, deploy, podSpec({ imagePullPolicyy: 'Always' }), 'Strict')).toThrow(
      'unknown field "spec.template.spec.containers[0].imagePullPolicyy"',
    )
  })
})

describe('what the schema says after defaulting (422 causes)', () => {
  it('names enum values that are not supported, missing required fields and bad DNS names', () => {
    const causes = schemaProblems('k8s.io.api.core.v1.Service', 'services', {
      metadata: { name: '1svc' },
      spec: { type: 'Cluster', ports: [{ name: 'HTTP', protocol: 'tcp' }] },
    })
    expect(causes).toEqual([
      {
        reason: 'FieldValueInvalid',
        field: 'metadata.name',
        message: `Invalid value: "1svc": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
      },
      {
        reason: 'FieldValueInvalid',
        field: 'spec.ports[0].name',
        message: expect.stringContaining('Invalid value: "HTTP": a lowercase RFC 1123 label'),
      },
      {
        reason: 'FieldValueNotSupported',
        field: 'spec.ports[0].protocol',
        message: 'Unsupported value: "tcp": supported values: "SCTP", "TCP", "UDP"',
      },
      { reason: 'FieldValueRequired', field: 'spec.ports[0].port', message: 'Required value' },
      {
        reason: 'FieldValueNotSupported',
        field: 'spec.type',
        message:
          'Unsupported value: "Cluster": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
      },
    ])
  })

  it('checks names by kind: namespaces are labels, most kinds subdomains; status is not checked', () => {
    expect(nameProblems('a.b', 'label')).toEqual(['must not contain dots'])
    expect(nameProblems('a.b', 'subdomain')).toEqual([])
    expect(nameProblems('x'.repeat(64), 'label')[0]).toBe('must be no more than 63 characters')
    expect(
      schemaProblems('k8s.io.api.core.v1.ConfigMap', 'configmaps', { metadata: { name: 'Cfg' } })[0].field,
    ).toBe('metadata.name')
    expect(
      schemaProblems('k8s.io.api.core.v1.Pod', 'pods', {
        metadata: { name: 'p' },
        spec: { containers: [{ name: 'c' }] },
        status: { phase: 'Nope' },
      }),
    ).toEqual([])
  })
})
