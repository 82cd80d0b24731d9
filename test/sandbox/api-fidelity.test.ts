import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeObject } from '../../src/sandbox/apiserver/decode.js'
import { kindMessage } from '../../src/sandbox/apiserver/kube-schema.js'
import { decodeEnvelope, encodeEnvelope, PROTOBUF } from '../../src/sandbox/apiserver/protobuf.js'
import { ALL_RESOURCES } from '../../src/sandbox/resources.js'
import { sandboxCredentials } from '../helpers/api-watch.js'
import { waitFor } from '../helpers/ports.js'
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js'

const run = promisify(execFile)

// The API server answering as kube-apiserver does, through kubectl 1.32 (the user's client) and
// raw HTTPS where kubectl cannot send the request: protobuf bodies, apimachinery's parameters,
// schema validation, RFC 6902 and schema-driven strategic merge patches, size limits, ClusterIPs.
describe('sandbox API server fidelity (kubectl 1.32)', () => {
  let sb: TestSandbox
  const kubectl = async (...args: string[]) => {
    try {
      const r = await run('kubectl', args, { env: sb.env, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 })
      return { code: 0, out: r.stdout, err: r.stderr }
    } catch (e) {
      const x = e as { code?: number; stdout?: string; stderr?: string }
      return { code: x.code ?? 1, out: x.stdout ?? '', err: x.stderr ?? '' }
    }
  }
  const ok = async (...args: string[]) => {
    const r = await kubectl(...args)
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.err}`)
    return r.out
  }
  /** A raw HTTPS request with the sandbox kubeconfig's CA and token. */
  const raw = (
    method: string,
    path: string,
    body?: Buffer | string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; type: string; body: Buffer; headers: Record<string, unknown> }> => {
    const { server, ca, token } = sandboxCredentials(sb.kubeconfig)
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: server.hostname,
          port: server.port,
          method,
          path,
          ca,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              type: String(res.headers['content-type'] ?? ''),
              body: Buffer.concat(chunks),
              headers: res.headers,
            }),
          )
        },
      )
      req.on('error', reject)
      if (body) req.write(body)
      req.end()
    })
  }
  const file = (name: string, text: string) => {
    const f = join(sb.home, name)
    writeFileSync(f, text)
    return f
  }

  beforeAll(async () => {
    sb = await startSandbox({ nodes: 1 })
  })
  afterAll(async () => sb?.stop())

  it('kubectl create namespace|configmap|secret|deployment|service sends protobuf and it is stored', async () => {
    expect(await ok('create', 'namespace', 'fid')).toContain('namespace/fid created')
    expect(
      await ok('create', 'configmap', 'cfg', '-n', 'fid', '--from-literal=a=1', '--from-literal=b=2'),
    ).toContain('configmap/cfg created')
    expect(
      await ok('create', 'secret', 'generic', 'sec', '-n', 'fid', '--from-literal=password=s3cr3t'),
    ).toContain('secret/sec created')
    expect(
      await ok(
        'create',
        'deployment',
        'web',
        '-n',
        'fid',
        '--image=127.0.0.1:1/none:1',
        '--port=8080',
        '--replicas=1',
      ),
    ).toContain('deployment.apps/web created')
    expect(await ok('create', 'service', 'clusterip', 'web', '-n', 'fid', '--tcp=80:8080')).toContain(
      'service/web created',
    )
    expect(JSON.parse(await ok('get', 'cm', 'cfg', '-n', 'fid', '-o', 'json')).data).toEqual({
      a: '1',
      b: '2',
    })
    expect(await ok('get', 'secret', 'sec', '-n', 'fid', '-o', 'jsonpath={.data.password}')).toBe(
      Buffer.from('s3cr3t').toString('base64'),
    )
    const d = JSON.parse(await ok('get', 'deploy', 'web', '-n', 'fid', '-o', 'json'))
    expect(d.spec.template.spec.containers[0]).toMatchObject({
      name: 'none',
      ports: [{ containerPort: 8080 }],
    })
    expect(d.spec.template.metadata).toEqual({ labels: { app: 'web' } }) // Go's zero values left out
    // a pointer field set to zero stays zero (not defaulted to 1 as an absent one would be)
    await ok('create', 'deployment', 'zero', '-n', 'fid', '--image=127.0.0.1:1/none:1', '--replicas=0')
    expect(await ok('get', 'deploy', 'zero', '-n', 'fid', '-o', 'jsonpath={.spec.replicas}')).toBe('0')
    const svc = JSON.parse(await ok('get', 'svc', 'web', '-n', 'fid', '-o', 'json'))
    expect(svc.spec.ports[0]).toMatchObject({ port: 80, targetPort: 8080, protocol: 'TCP' })
  })

  it('answers protobuf when Accept asks only for protobuf, and JSON when it lists JSON too', async () => {
    const pb = await raw('GET', '/api/v1/namespaces/fid/configmaps/cfg', undefined, { accept: PROTOBUF })
    expect(pb.type).toBe(PROTOBUF)
    expect(decodeEnvelope(pb.body)).toMatchObject({ kind: 'ConfigMap', data: { a: '1', b: '2' } })
    const js = await raw('GET', '/api/v1/namespaces/fid/configmaps/cfg', undefined, {
      accept: `${PROTOBUF}, application/json`,
    })
    expect(JSON.parse(js.body.toString()).data).toEqual({ a: '1', b: '2' })
    const body = encodeEnvelope('v1', 'ConfigMap', { metadata: { name: 'from-pb' }, data: { x: 'y' } })
    const created = await raw('POST', '/api/v1/namespaces/fid/configmaps', body, { 'content-type': PROTOBUF })
    expect(created.status).toBe(201)
    expect(JSON.parse(created.body.toString()).data).toEqual({ x: 'y' })
    expect((await raw('GET', '/api/v1/namespaces', undefined, { accept: 'text/html' })).status).toBe(406)
  })

  it('parses query parameters as apimachinery does; bad selectors are 400', async () => {
    const w = await raw('GET', '/api/v1/namespaces/fid/configmaps?watch=True&timeoutSeconds=1')
    const lines = w.body
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string })
    expect(lines.length).toBeGreaterThanOrEqual(2)
    expect(lines.every((l) => l.type === 'ADDED')).toBe(true)
    const list = await raw('GET', '/api/v1/namespaces/fid/configmaps?watch=false')
    expect(JSON.parse(list.body.toString()).kind).toBe('ConfigMapList')
    const bad = await kubectl('get', 'pods', '-n', 'fid', '-l', 'app in web')
    expect(bad.code).toBe(1)
    expect(bad.err).toContain('Error from server (BadRequest)')
    expect(bad.err).toContain("unable to parse requirement: found 'web' expected: '('")
    const field = await kubectl('get', 'pods', '-n', 'fid', '--field-selector', 'spec.foo=x')
    expect(field.err).toContain('field label not supported: spec.foo')
    expect((await raw('GET', '/api/v1/pods?limit=ten')).status).toBe(400)
    expect((await raw('GET', '/api/v1/pods?timeout=soon')).status).toBe(400)
  })

  it('refuses selector operators Kubernetes does not know (in instead of In)', async () => {
    const r = await kubectl(
      'apply',
      '-f',
      file(
        'bad-op.yaml',
        `apiVersion: apps/v1
kind: Deployment
metadata: {name: bad-op, namespace: fid}
spec:
  selector: {matchExpressions: [{key: app, operator: in, values: [x]}]}
  template:
    metadata: {labels: {app: x}}
    spec: {containers: [{name: c, image: 127.0.0.1:1/none:1}]}
`,
      ),
    )
    expect(r.code).toBe(1)
    expect(r.err).toContain(
      'spec.selector.matchExpressions[0].operator: Invalid value: "in": not a valid selector operator',
    )
  })

  it('sorts events by lastTimestamp and pods by startTime: Table rows carry the object', async () => {
    await waitFor(
      'events and a started pod',
      async () => {
        const pods = JSON.parse(await ok('get', 'pods', '-n', 'fid', '-o', 'json')) as {
          items: { status?: { startTime?: string } }[]
        }
        const events = JSON.parse(await ok('get', 'events', '-n', 'fid', '-o', 'json')) as {
          items: unknown[]
        }
        return pods.items.some((p) => p.status?.startTime) && events.items.length > 0 ? true : undefined
      },
      30_000,
      200,
    )
    const events = await ok('get', 'events', '-n', 'fid', '--sort-by=.lastTimestamp')
    expect(events).toMatch(/LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE/)
    expect(events.trim().split('\n').length).toBeGreaterThan(1)
    const pods = await ok('get', 'pods', '-n', 'fid', '--sort-by=.status.startTime')
    expect(pods).toMatch(/^web-[a-z0-9]+-[a-z0-9]+\s/m)
  })

  it('validates bodies against the schema with kube-apiserver Status reasons and messages', async () => {
    const bool = await kubectl(
      'create',
      '-f',
      file(
        'bool.json',
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'b', namespace: 'fid' },
          data: { flag: true },
        }),
      ),
    )
    expect(bool.err).toContain('Error from server (BadRequest): error when creating')
    expect(bool.err).toContain(
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal bool into Go struct field ConfigMap.data of type string',
    )
    const typo = await kubectl(
      'apply',
      '-f',
      file(
        'typo.yaml',
        `apiVersion: apps/v1
kind: Deployment
metadata: {name: typo, namespace: fid}
spec:
  replicaz: 2
  selector: {matchLabels: {app: t}}
  template:
    metadata: {labels: {app: t}}
    spec: {containers: [{name: c, image: 127.0.0.1:1/none:1}]}
`,
      ),
    )
    expect(typo.err).toContain('strict decoding error: unknown field "spec.replicaz"')
    const enumBad = await kubectl(
      'apply',
      '-f',
      file(
        'svc-type.yaml',
        `apiVersion: v1
kind: Service
metadata: {name: bad-type, namespace: fid}
spec: {type: Cluster, ports: [{port: 80, protocol: tcp}]}
`,
      ),
    )
    expect(enumBad.err).toContain('The Service "bad-type" is invalid')
    expect(enumBad.err).toContain(
      'spec.type: Unsupported value: "Cluster": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
    )
    expect(enumBad.err).toContain('spec.ports[0].protocol: Unsupported value: "tcp"')
    const name = await kubectl('create', 'namespace', 'Bad_Name')
    expect(name.err).toContain('metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 label')
    const quantity = await kubectl(
      'patch',
      'deploy',
      'web',
      '-n',
      'fid',
      '-p',
      '{"spec":{"template":{"spec":{"containers":[{"name":"none","resources":{"limits":{"cpu":"lots"}}}]}}}}',
    )
    expect(quantity.err).toContain(
      'Deployment in version "v1" cannot be handled as a Deployment: quantities must match the regular expression \'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$\'',
    )
    expect((await ok('get', 'cm', '-n', 'fid', '-o', 'name')).split('\n')).not.toContain('configmap/b')
  })

  it('applies JSON patches per RFC 6902 and refuses what does not apply (422) without polluting the server', async () => {
    const patch = (ops: unknown) =>
      kubectl('patch', 'cm', 'cfg', '-n', 'fid', '--type', 'json', '-p', JSON.stringify(ops))
    const good = await patch([
      { op: 'test', path: '/data', value: { b: '2', a: '1' } },
      { op: 'add', path: '/data/c', value: '3' },
    ])
    expect(good.err).toBe('')
    expect(JSON.parse(await ok('get', 'cm', 'cfg', '-n', 'fid', '-o', 'json')).data).toEqual({
      a: '1',
      b: '2',
      c: '3',
    })
    const missing = await patch([{ op: 'remove', path: '/data/nope' }])
    expect(missing.err).toContain('remove operation does not apply: doc is missing path: "/data/nope"')
    const copy = await patch([{ op: 'copy', from: '/data/nope', path: '/data/d' }])
    expect(copy.code).toBe(1)
    const proto = await patch([{ op: 'add', path: '/__proto__/polluted', value: 'yes' }])
    expect(proto.code).toBe(1)
    const finalizers = await raw(
      'PATCH',
      '/api/v1/namespaces/fid/configmaps/cfg',
      JSON.stringify([{ op: 'add', path: '/metadata/labels', value: { ok: 'yes' } }]),
      { 'content-type': 'application/json-patch+json' },
    )
    expect(finalizers.status).toBe(200)
    expect(JSON.parse(finalizers.body.toString()).polluted).toBeUndefined()
  })

  it('merges Service ports by port and finalizers as a set (strategic merge from the schema)', async () => {
    await ok(
      'patch',
      'svc',
      'web',
      '-n',
      'fid',
      '-p',
      JSON.stringify({ spec: { ports: [{ name: 'metrics', port: 9090, targetPort: 9090 }] } }),
    )
    const ports = JSON.parse(await ok('get', 'svc', 'web', '-n', 'fid', '-o', 'jsonpath={.spec.ports}')) as {
      port: number
    }[]
    expect(ports.map((p) => p.port)).toEqual([80, 9090])
    await ok('patch', 'cm', 'cfg', '-n', 'fid', '-p', '{"metadata":{"finalizers":["a.io/x"]}}')
    await ok('patch', 'cm', 'cfg', '-n', 'fid', '-p', '{"metadata":{"finalizers":["b.io/y"]}}')
    expect(await ok('get', 'cm', 'cfg', '-n', 'fid', '-o', 'jsonpath={.metadata.finalizers}')).toBe(
      '["a.io/x","b.io/y"]',
    )
    await ok('patch', 'cm', 'cfg', '-n', 'fid', '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}')
  })

  it('gives Services a ClusterIP from 10.43.0.0/16', async () => {
    const spec = JSON.parse(await ok('get', 'svc', 'web', '-n', 'fid', '-o', 'jsonpath={.spec}'))
    expect(spec.clusterIP).toMatch(/^10\.43\.\d+\.\d+$/)
    expect(spec.clusterIPs).toEqual([spec.clusterIP])
    expect(spec.ipFamilies).toEqual(['IPv4'])
    expect(await ok('get', 'svc', 'web', '-n', 'fid')).toContain(spec.clusterIP)
  })

  it('limits sizes before storing: body 3 MiB (413), object 1.5 MiB (etcd), nesting depth (400)', async () => {
    const cm = (name: string, bytes: number) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace: 'fid' },
        data: { blob: 'x'.repeat(bytes) },
      })
    const big = await kubectl('create', '-f', file('big.json', cm('big', 2 * 1024 * 1024)))
    expect(big.err).toContain('etcdserver: request is too large')
    const huge = await kubectl('create', '-f', file('huge.json', cm('huge', 4 * 1024 * 1024)))
    expect(huge.err).toContain('Request entity too large: limit is 3145728')
    const deep = await raw(
      'POST',
      '/api/v1/namespaces/fid/configmaps',
      `{"metadata":{"name":"deep","annotations":${'['.repeat(3000)}${']'.repeat(3000)}}}`,
    )
    expect(deep.status).toBe(400)
    expect(await ok('get', 'cm', '-n', 'fid', '-o', 'name')).not.toMatch(/big|huge|deep/)
    expect(await ok('get', 'ns', 'fid', '-o', 'name')).toBe('namespace/fid\n')
  })

  it('admin fault endpoints change state only on POST', async () => {
    const get = await raw('GET', '/admin/faults/api?status=500&count=5')
    expect(get.status).toBe(405)
    expect((await raw('GET', '/api/v1/namespaces/fid')).status).toBe(200)
    const post = await raw('POST', '/admin/faults/api', JSON.stringify({ status: 500, count: 1 }))
    expect(post.status).toBe(200)
    expect((await raw('GET', '/api/v1/namespaces/fid')).status).toBe(500)
    expect((await raw('GET', '/api/v1/namespaces/fid')).status).toBe(200)
  })

  it('serves on /openapi/v3 the schema it validates with (kubectl explain reads it)', async () => {
    const explain = await ok('explain', 'svc.spec.type')
    expect(explain).toMatch(/ENUM:\s+ClusterIP\s+ExternalName\s+LoadBalancer\s+NodePort/)
    const ports = await ok('explain', 'deploy.spec.template.spec.containers.ports')
    expect(ports).toMatch(/containerPort\s+<integer> -required-/)
  })

  it('serves every object in the 1.32 schema, with no field the schema does not know', async () => {
    for (const t of ALL_RESOURCES) {
      const message = kindMessage(t)
      if (!message) continue
      const base = t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`
      const list = JSON.parse((await raw('GET', `${base}/${t.resource}`)).body.toString()) as {
        items: unknown[]
      }
      for (const o of list.items) expect(decodeObject(message, t, o, 'Warn').warnings).toEqual([])
    }
  })
})
