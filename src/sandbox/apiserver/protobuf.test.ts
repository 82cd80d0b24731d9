import protobuf from 'protobufjs/minimal.js'
import { describe, expect, it } from 'vitest'
import { answerFormat, decodeEnvelope, decodeMessage, encodeEnvelope, encodeMessage } from './protobuf.js'

const DEPLOY = 'k8s.io.api.apps.v1.Deployment'

describe('Kubernetes protobuf', () => {
  const deployment = {
    metadata: {
      name: 'web',
      namespace: 'fid',
      labels: { app: 'web' },
      creationTimestamp: '2026-12-04T22:00:00Z',
    },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'r/app:1',
              args: ['--port', '8080'],
              ports: [{ containerPort: 8080, protocol: 'TCP' }],
              resources: { limits: { cpu: '500m', memory: '64Mi' } },
              readinessProbe: { httpGet: { path: '/health', port: 'http' }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  }

  it('round-trips a Deployment: int-or-string, quantities, time, maps, repeated, embedded structs', () => {
    expect(decodeMessage(DEPLOY, encodeMessage(DEPLOY, deployment))).toEqual(deployment)
  })

  it('reads the envelope kubectl sends and leaves out Go zero values of omitempty fields', () => {
    const body = encodeEnvelope('v1', 'ConfigMap', {
      metadata: { name: 'a', generateName: '', generation: 0 },
      data: { k: 'v' },
    })
    expect(body.subarray(0, 4).toString('latin1')).toBe('k8s\0')
    expect(decodeEnvelope(body)).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a' },
      data: { k: 'v' },
    })
  })

  it('reads packed repeated scalars and skips field numbers it does not know', () => {
    // ContainerStatus is not needed: Container.args is repeated string; use PodSpec's
    // terminationGracePeriodSeconds (int64, 4) and an unknown field 999
    const w = protobuf.Writer.create()
    w.uint32((4 << 3) | 0).int64(30)
    w.uint32((999 << 3) | 2).string('ignored')
    expect(decodeMessage('k8s.io.api.core.v1.PodSpec', w.finish())).toEqual({
      terminationGracePeriodSeconds: 30,
    })
  })

  it('refuses what is not a Kubernetes protobuf object, or a kind it does not serve', () => {
    expect(() => decodeEnvelope(Buffer.from('{"kind":"ConfigMap"}'))).toThrow(/not a protobuf object/)
    expect(() => decodeEnvelope(encodeEnvelope('v1', 'Nope', {}))).toThrow(
      'no kind "Nope" is registered for version "v1"',
    )
  })

  it.each([
    ['application/vnd.kubernetes.protobuf, application/json', 'json'],
    ['application/vnd.kubernetes.protobuf', 'protobuf'],
    ['application/json;as=Table;v=v1;g=meta.k8s.io,application/json', 'json'],
    [undefined, 'json'],
    ['text/html', undefined],
  ])('Accept %s → %s', (accept, format) => expect(answerFormat(accept)).toBe(format))
})
