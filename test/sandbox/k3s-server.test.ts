import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { pushSampleApp } from '../helpers/images.js'
import { freePort, waitFor } from '../helpers/ports.js'
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js'

const run = promisify(execFile)

interface Kubeconfig {
  clusters: { name: string; cluster: { server: string; 'certificate-authority-data': string } }[]
  users: {
    name: string
    user: { 'client-certificate-data'?: string; 'client-key-data'?: string; token?: string }
  }[]
  contexts: { name: string; context: { cluster: string; user: string } }[]
  'current-context': string
}

// The sandbox as the k3s server that the stand-in k3s installer starts in a bootstrap test:
// on its own address and port, no nodes of its own, nodes joining with a token, and a
// k3s.yaml whose client certificate is the only credential.
describe('sandbox as a k3s server (--nodes 0 --address --join-token-file --write-kubeconfig)', () => {
  const address = '127.0.0.2'
  const joinToken = 'K10test::server:join-secret-for-tests'
  let home: string
  let apiPort: number
  let sb: TestSandbox | undefined
  let k3sYaml: string
  let kubeconfig: string
  let ca: string

  const serverArgs = () => [
    `--address=${address}`,
    `--api-port=${apiPort}`,
    '--tls-san=pi-a.local',
    `--join-token-file=${join(home, 'token')}`,
    `--write-kubeconfig=${k3sYaml}`,
  ]
  const env = () => ({ ...process.env, KUBECONFIG: kubeconfig, HOME: home })
  const kubectl = async (...args: string[]) =>
    (await run('/usr/bin/kubectl', args, { env: env(), timeout: 90_000 })).stdout

  /** An HTTPS request to the API with the sandbox CA and an optional bearer token. */
  const call = (method: string, path: string, token?: string, body?: unknown) =>
    new Promise<{ status: number; json: { [k: string]: unknown } }>((resolve, reject) => {
      const req = request(
        `https://${address}:${apiPort}${path}`,
        {
          method,
          ca,
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              json: JSON.parse(Buffer.concat(chunks).toString() || '{}'),
            }),
          )
        },
      )
      req.on('error', reject)
      req.end(body ? JSON.stringify(body) : undefined)
    })

  const nodesReady = async (names: string[]) => {
    const out = await kubectl('get', 'nodes', '-L', 'kubernetes.io/arch', '--no-headers')
    const ok = names.every((n) => new RegExp(`^${n}\\s+Ready\\s.*\\sarm64$`, 'm').test(out))
    return ok ? out : undefined
  }

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'ec-k3s-server-'))
    writeFileSync(join(home, 'token'), `${joinToken}\n`, { mode: 0o600 })
    k3sYaml = join(home, 'etc', 'rancher', 'k3s', 'k3s.yaml')
    apiPort = await freePort()
    sb = await startSandbox({ home, nodes: 0, args: serverArgs() })
    // what init --hosts does with the fetched k3s.yaml: point it at the server's address
    const doc = parse(readFileSync(k3sYaml, 'utf8')) as Kubeconfig
    doc.clusters[0].cluster.server = `https://${address}:${apiPort}`
    kubeconfig = join(home, 'k3s-rewritten.yaml')
    writeFileSync(kubeconfig, stringify(doc), { mode: 0o600 })
    ca = Buffer.from(doc.clusters[0].cluster['certificate-authority-data'], 'base64').toString()
  })
  afterAll(async () => {
    await sb?.stop()
    if (home) rmSync(home, { recursive: true, force: true })
  })

  it('writes k3s.yaml as k3s does: 0600, all named default, server 127.0.0.1, client certificate only', () => {
    expect(statSync(k3sYaml).mode & 0o777).toBe(0o600)
    const doc = parse(readFileSync(k3sYaml, 'utf8')) as Kubeconfig
    expect(doc['current-context']).toBe('default')
    expect(doc.contexts).toEqual([{ name: 'default', context: { cluster: 'default', user: 'default' } }])
    expect(doc.clusters[0].name).toBe('default')
    expect(doc.clusters[0].cluster.server).toBe(`https://127.0.0.1:${apiPort}`)
    expect(doc.users[0].name).toBe('default')
    expect(doc.users[0].user['client-certificate-data']).toBeTruthy()
    expect(doc.users[0].user['client-key-data']).toBeTruthy()
    expect(doc.users[0].user.token).toBeUndefined()
  })

  it('serves on the given address and port with the address and --tls-san in the certificate', () => {
    const state = JSON.parse(readFileSync(join(home, 'sandbox', 'state.json'), 'utf8')) as {
      apiUrl: string
      nodes: string[]
    }
    expect(state.apiUrl).toBe(`https://${address}:${apiPort}`)
    expect(state.nodes).toEqual([])
    const sans = execFileSync(
      'openssl',
      ['x509', '-noout', '-ext', 'subjectAltName', '-in', join(home, 'sandbox', 'pki', 'server.crt')],
      { encoding: 'utf8' },
    )
    expect(sans).toContain(`IP Address:${address}`)
    expect(sans).toContain('DNS:pi-a.local')
  })

  it('answers kubectl with the client certificate alone; a server with no nodes lists none', async () => {
    const { stdout, stderr } = await run('/usr/bin/kubectl', ['get', 'nodes'], { env: env() })
    expect(stdout).toBe('')
    expect(stderr).toContain('No resources found')
  })

  it('refuses a client certificate the sandbox CA did not sign (401)', async () => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        'rogue.key',
        '-out',
        'rogue.crt',
        '-days',
        '1',
        '-subj',
        '/O=system:masters/CN=admin',
      ],
      { cwd: home, stdio: 'ignore' },
    )
    const doc = parse(readFileSync(kubeconfig, 'utf8')) as Kubeconfig
    doc.users[0].user['client-certificate-data'] = readFileSync(join(home, 'rogue.crt')).toString('base64')
    doc.users[0].user['client-key-data'] = readFileSync(join(home, 'rogue.key')).toString('base64')
    const rogue = join(home, 'rogue.yaml')
    writeFileSync(rogue, stringify(doc), { mode: 0o600 })
    const err = await run('/usr/bin/kubectl', ['get', 'nodes'], {
      env: { ...env(), KUBECONFIG: rogue },
    }).catch((e: { stderr: string; code: number }) => e)
    expect('code' in err && err.code).toBe(1)
    expect('stderr' in err && err.stderr).toContain('Unauthorized')
    expect((await call('GET', '/api/v1/nodes')).status).toBe(401)
  })

  it('refuses a join without the right token', async () => {
    const wrong = await call('POST', '/admin/join', 'not-the-token', { name: 'pi-x', arch: 'arm64' })
    expect(wrong.status).toBe(401)
    const none = await call('POST', '/admin/join', undefined, { name: 'pi-x', arch: 'arm64' })
    expect(none.status).toBe(401)
    const bad = await call('POST', '/admin/join', joinToken, { name: 'Pi X', arch: 'arm64' })
    expect(bad.status).toBe(400)
    expect(await kubectl('get', 'nodes', '-o', 'name')).toBe('')
  })

  it('joins nodes with the token: Ready with their arch label, idempotently', async () => {
    const b = await call('POST', '/admin/join', joinToken, { name: 'pi-b', arch: 'arm64' })
    expect(b).toEqual({ status: 201, json: { name: 'pi-b', arch: 'arm64', created: true } })
    const c = await call('POST', '/admin/join', joinToken, { name: 'pi-c', arch: 'arm64' })
    expect(c.status).toBe(201)
    const again = await call('POST', '/admin/join', joinToken, { name: 'pi-b', arch: 'arm64' })
    expect(again).toEqual({ status: 200, json: { name: 'pi-b', arch: 'arm64', created: false } })
    const clash = await call('POST', '/admin/join', joinToken, { name: 'pi-b', arch: 'amd64' })
    expect(clash.status).toBe(409)
    await waitFor('pi-b and pi-c Ready', () => nodesReady(['pi-b', 'pi-c']), 20_000, 250)
    expect((await kubectl('get', 'nodes', '-o', 'name')).trim().split('\n')).toEqual([
      'node/pi-b',
      'node/pi-c',
    ])
  })

  it('gives the join token no other access', async () => {
    expect((await call('GET', '/api/v1/pods', joinToken)).status).toBe(401)
    expect((await call('GET', '/api/v1/namespaces/kube-system/configmaps', joinToken)).status).toBe(401)
    expect((await call('POST', '/admin/faults/api', joinToken, { status: 500 })).status).toBe(401)
    expect(sb?.log()).not.toContain('join-secret-for-tests')
  })

  it('runs an arm64 Deployment on the joined nodes behind a LoadBalancer on the server address', async () => {
    if (!sb) throw new Error('no sandbox')
    const image = await pushSampleApp(sb, '1.0')
    writeFileSync(
      join(home, 'app.yaml'),
      `apiVersion: apps/v1
kind: Deployment
metadata: {name: kubeapp, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: kubeapp}}
  template:
    metadata: {labels: {app: kubeapp}}
    spec:
      nodeSelector: {kubernetes.io/arch: arm64}
      containers:
      - name: kubeapp
        image: ${image}
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /health, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: app-lb, namespace: default}
spec:
  type: LoadBalancer
  selector: {app: kubeapp}
  ports: [{port: 80, targetPort: 8080}]
`,
    )
    await kubectl('apply', '-f', join(home, 'app.yaml'))
    await kubectl('rollout', 'status', 'deploy/kubeapp', '--timeout=90s')
    const nodes = await kubectl(
      'get',
      'pods',
      '-l',
      'app=kubeapp',
      '-o',
      'jsonpath={.items[*].spec.nodeName}',
    )
    expect(nodes.split(' ').sort()).toEqual(['pi-b', 'pi-c'])
    const where = await waitFor('the LoadBalancer address', async () => {
      const out = await kubectl(
        'get',
        'svc',
        'app-lb',
        '-o',
        'jsonpath={.status.loadBalancer.ingress[0].ip}:{.status.loadBalancer.ingress[0].ports[0].port}',
      )
      return /^[\d.]+:\d+$/.test(out) ? out : undefined
    })
    expect(where.startsWith(`${address}:`)).toBe(true)
    const version = await waitFor('the app through the LoadBalancer', async () => {
      const res = await fetch(`http://${where}/version`, { signal: AbortSignal.timeout(2000) })
      return res.ok ? res.text() : undefined
    })
    expect(version).toBe('1.0\n')
  })

  it('brings the joined nodes back after a restart, with the same kubeconfig', async () => {
    await sb?.stop()
    sb = await startSandbox({ home, nodes: 0, args: serverArgs() })
    expect(JSON.parse(readFileSync(join(home, 'sandbox', 'joined-nodes.json'), 'utf8'))).toMatchObject([
      { name: 'pi-b', arch: 'arm64' },
      { name: 'pi-c', arch: 'arm64' },
    ])
    await waitFor('pi-b and pi-c Ready again', () => nodesReady(['pi-b', 'pi-c']), 20_000, 250)
    await kubectl('rollout', 'status', 'deploy/kubeapp', '--timeout=90s')
  })
})
