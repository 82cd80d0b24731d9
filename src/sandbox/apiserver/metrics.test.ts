import { describe, expect, it } from 'vitest'
import { RequestMetrics, requestVerb } from './metrics.js'

const res = { group: 'apps', version: 'v1', resource: 'deployments' }

describe('requestVerb (kube-apiserver verb label)', () => {
  it.each([
    // method, watch, route, verb
    ['GET', false, { res, ns: 'p' }, 'LIST'],
    ['GET', true, { res, ns: 'p' }, 'WATCH'],
    ['GET', false, { res, ns: 'p', name: 'x' }, 'GET'],
    ['PATCH', false, { res, ns: 'p', name: 'x' }, 'PATCH'],
    ['GET', false, { res, ns: 'p', name: 'x', sub: 'proxy' }, 'CONNECT'],
    ['POST', false, { res, ns: 'p' }, 'POST'],
    ['delete', false, { res, ns: 'p', name: 'x' }, 'DELETE'],
  ] as const)('%s watch=%s %j → %s', (method, watch, route, verb) => {
    expect(requestVerb({ method, watch, route })).toBe(verb)
  })
})

describe('RequestMetrics.render', () => {
  it('prints one counter line per label set, in the Prometheus text format', () => {
    const m = new RequestMetrics()
    const l = {
      verb: 'GET',
      group: 'apps',
      version: 'v1',
      resource: 'deployments',
      subresource: '',
      scope: 'resource' as const,
      code: 200,
    }
    m.record(l)
    m.record(l)
    m.record({ ...l, code: 404 })
    expect(m.render().split('\n')).toEqual([
      expect.stringMatching(/^# HELP apiserver_request_total /),
      '# TYPE apiserver_request_total counter',
      'apiserver_request_total{code="200",component="apiserver",dry_run="",group="apps",resource="deployments",scope="resource",subresource="",verb="GET",version="v1"} 2',
      'apiserver_request_total{code="404",component="apiserver",dry_run="",group="apps",resource="deployments",scope="resource",subresource="",verb="GET",version="v1"} 1',
      '',
    ])
  })
})
