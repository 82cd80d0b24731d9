import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import { type AddressInfo, createServer as createTcpServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { connectCluster } from '../../src/adapters/kube-cluster.js'
import { UnreachableError } from '../../src/errors.js'
import { ensurePki } from '../../src/sandbox/apiserver/pki.js'

// A real HTTPS server with the sandbox's own PKI: it counts TLS connections and checks that
// every request still carries the kubeconfig's credentials.
describe('the Kubernetes adapter keeps its connection to the API server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ec-kconn-'))
  let server: Server
  let connections = 0
  const authorizations: (string | undefined)[] = []
  let kubeconfig = ''

  beforeAll(async () => {
    const pki = ensurePki(join(dir, 'pki'))
    server = createServer({ cert: pki.serverCertPem, key: pki.serverKeyPem }, (req, res) => {
      authorizations.push(req.headers.authorization)
      res.setHeader('content-type', 'application/json')
      if (req.url === '/version') return res.end(JSON.stringify({ gitVersion: 'v1.32.0' }))
      res.end(
        JSON.stringify({
          metadata: { name: 'kubeapp', namespace: 'production' },
          spec: { replicas: 4, template: { spec: { containers: [] } } },
        }),
      )
    })
    server.on('secureConnection', () => connections++)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as AddressInfo).port
    kubeconfig = join(dir, 'config')
    writeFileSync(
      kubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'c',
            cluster: {
              server: `https://127.0.0.1:${port}`,
              'certificate-authority-data': Buffer.from(pki.caPem).toString('base64'),
            },
          },
        ],
        users: [{ name: 'u', user: { token: pki.token } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'c',
      }),
      { mode: 0o600 },
    )
  }, 60_000)
  afterAll(() => {
    server?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('one TLS connection serves requests one after another, each with the credentials', async () => {
    const cluster = connectCluster({ kubeconfig })
    await cluster.ping()
    for (let i = 0; i < 5; i++) {
      expect((await cluster.getDeployment('production', 'kubeapp'))?.spec.replicas).toBe(4)
    }
    // client-node alone would open six (a new Agent per request)
    expect(connections).toBe(1)
    expect(authorizations).toHaveLength(6)
    expect(new Set(authorizations)).toEqual(new Set([`Bearer ${ensurePki(join(dir, 'pki')).token}`]))
  })
})

// A fleet's preflight asks each cluster with a short bound: a server that takes the TCP
// connection and never answers (a hung API server, a half-dead Pi) is tried twice, not seven
// times at 15 s each.
describe('the quick ping of a fleet preflight', () => {
  it('a silent API server: two attempts, each cut at its timeout, then UnreachableError', async () => {
    const sockets: Socket[] = []
    const silent = createTcpServer((s) => {
      sockets.push(s)
    })
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const dir = mkdtempSync(join(tmpdir(), 'ec-kping-'))
    try {
      const kubeconfig = join(dir, 'config')
      writeFileSync(
        kubeconfig,
        stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [
            {
              name: 'c',
              cluster: {
                server: `https://127.0.0.1:${(silent.address() as AddressInfo).port}`,
                'insecure-skip-tls-verify': false,
              },
            },
          ],
          users: [{ name: 'u', user: { token: 'x' } }],
          contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
          'current-context': 'c',
        }),
        { mode: 0o600 },
      )
      const cluster = connectCluster({ kubeconfig })
      const err = await cluster.ping({ timeoutMs: 300 }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(UnreachableError)
      expect((err as Error).message).toMatch(/is unreachable: timeout/)
      expect(sockets).toHaveLength(2)
    } finally {
      for (const s of sockets) s.destroy()
      silent.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
