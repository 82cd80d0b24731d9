import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { connectCluster } from '../../src/adapters/kube-cluster.js'
import type { Pod } from '../../src/ports.js'
import { ensurePki } from '../../src/sandbox/apiserver/pki.js'
import { waitFor } from '../helpers/ports.js'

// A real HTTPS server (the sandbox's PKI) playing kube-apiserver's list and watch by a script: the first watch ends
// normally after one event, the next one is answered 410 Gone (its version left the history),
// and the one after the relist stays open. The informer must resume, relist and go on.
describe('Cluster.inform (list, then watch: resume, 410 Gone → relist)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ec-informer-'))
  let server: Server
  let kubeconfig = ''
  const requests: string[] = []
  let lists = 0
  const pod = (name: string, rv: string) => ({
    metadata: { name, resourceVersion: rv, labels: { app: 'a' } },
  })

  beforeAll(async () => {
    const pki = ensurePki(join(dir, 'pki'))
    server = createServer({ cert: pki.serverCertPem, key: pki.serverKeyPem }, (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x')
      res.setHeader('content-type', 'application/json')
      if (url.searchParams.get('watch') !== '1') {
        lists++
        requests.push(`LIST ${url.searchParams.get('labelSelector')}`)
        const rv = lists === 1 ? '5' : '7'
        return res.end(JSON.stringify({ items: [pod('p1', rv)], metadata: { resourceVersion: rv } }))
      }
      const from = url.searchParams.get('resourceVersion') ?? ''
      requests.push(`WATCH from ${from}`)
      if (from === '5') {
        res.write(`${JSON.stringify({ type: 'MODIFIED', object: pod('p1', '6') })}\n`)
        return void setTimeout(() => res.end(), 50)
      }
      if (from === '6') {
        res.statusCode = 410
        return res.end(JSON.stringify({ kind: 'Status', code: 410, reason: 'Expired' }))
      }
      res.write(`${JSON.stringify({ type: 'ADDED', object: pod('p2', '8') })}\n`)
      // stays open until the informer stops
    })
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
        users: [{ name: 'u', user: { token: 't' } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u', namespace: 'p' } }],
        'current-context': 'c',
      }),
      { mode: 0o600 },
    )
  })
  afterAll(() => {
    server?.closeAllConnections()
    server?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('resumes from the last resourceVersion, relists after 410 Gone, and keeps delivering', async () => {
    const cluster = connectCluster({ kubeconfig })
    const seen: string[] = []
    const stop = cluster.inform(
      'pods',
      'p',
      { label: 'app=a' },
      {
        onList: (items: Pod[]) => seen.push(`list ${items.map((p) => p.metadata.resourceVersion).join(',')}`),
        onEvent: (type, p: Pod) => seen.push(`${type} ${p.metadata.name}@${p.metadata.resourceVersion}`),
      },
    )
    try {
      await waitFor(
        'the event after the relist',
        async () => (seen.includes('ADDED p2@8') ? true : undefined),
        10_000,
        20,
      ).catch((e: Error) => {
        throw new Error(`${e.message}: ${JSON.stringify({ seen, requests })}`)
      })
    } finally {
      stop()
    }
    expect(seen).toEqual(['list 5', 'MODIFIED p1@6', 'list 7', 'ADDED p2@8'])
    expect(requests).toEqual(['LIST app=a', 'WATCH from 5', 'WATCH from 6', 'LIST app=a', 'WATCH from 7'])
  })
})
