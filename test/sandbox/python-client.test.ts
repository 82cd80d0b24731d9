import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js'

const run = promisify(execFile)

interface Refusal {
  status: number
  reason: string
  message: string
  causes: string[]
}

// The official Python client (Debian's python3-kubernetes, run by /usr/bin/python3 since the
// python3 on PATH may be another one) as a third independent client: it sends watch=True, dict
// bodies as strategic merge patches and list bodies as JSON patches.
describe('sandbox API server through the official Python client', () => {
  let sb: TestSandbox
  let seen: Record<string, unknown>

  beforeAll(async () => {
    sb = await startSandbox({ nodes: 1 })
    const r = await run(
      '/usr/bin/python3',
      [join(import.meta.dirname, 'python', 'fidelity.py'), sb.kubeconfig, 'py'],
      {
        env: sb.env,
        timeout: 60_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    )
    seen = JSON.parse(r.stdout) as Record<string, unknown>
  })
  afterAll(async () => sb?.stop())

  it('watch=True streams events instead of answering a list', () => {
    expect(seen.watch).toEqual([['ADDED', 'cfg']])
  })

  it('refuses selectors apimachinery cannot parse with 400, and honours good ones', () => {
    expect(seen.bad_label_selector).toMatchObject({
      status: 400,
      reason: 'BadRequest',
      message: "unable to parse requirement: found 'py' expected: '('",
    })
    expect(seen.bad_field_selector).toMatchObject({
      status: 400,
      message: 'field label not supported: data.a',
    })
    expect(seen.good_selectors).toEqual(['cfg'])
  })

  it('validates bodies against the schema with kube-apiserver reasons', () => {
    expect(seen.bool_in_data).toMatchObject({
      status: 400,
      reason: 'BadRequest',
      message:
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal bool into Go struct field ConfigMap.data of type string',
    })
    expect(seen.service_type).toMatchObject({ status: 422, reason: 'Invalid', causes: ['spec.type'] })
    expect(seen.selector_operator).toMatchObject({
      status: 422,
      causes: ['spec.selector.matchExpressions[0].operator'],
    })
  })

  it('applies JSON patches per RFC 6902: deep test, 422 for a missing path and for __proto__', () => {
    expect(seen.json_patch_data).toEqual({ a: '1', b: '2', c: '3' })
    expect(seen.json_patch_remove_missing).toMatchObject({ status: 422, reason: 'Invalid' })
    expect((seen.json_patch_proto as Refusal).status).toBe(422)
  })

  it('merges Service ports by port and gives the Service a ClusterIP from 10.43.0.0/16', () => {
    expect(seen.service_ports).toEqual([80, 9090])
    const ip = seen.cluster_ip as { clusterIP: string; clusterIPs: string[]; ipFamilies: string[] }
    expect(ip.clusterIP).toMatch(/^10\.43\.\d+\.\d+$/)
    expect(ip.clusterIPs).toEqual([ip.clusterIP])
    expect(ip.ipFamilies).toEqual(['IPv4'])
  })

  it('refuses objects over 1.5 MiB and bodies over 3 MiB, and stores neither', () => {
    expect(seen.too_large_object).toMatchObject({ status: 500, message: 'etcdserver: request is too large' })
    expect(seen.too_large_body).toMatchObject({
      status: 413,
      reason: 'RequestEntityTooLarge',
      message: 'Request entity too large: limit is 3145728',
    })
    expect(seen.stored).toEqual(['cfg'])
  })
})
