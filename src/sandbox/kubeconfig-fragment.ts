import { stringify } from 'yaml'

export const SANDBOX_CONTEXT = 'edgecanary-sandbox'

/**
 * The sandbox's own kubeconfig: cluster with the generated CA, user with the bearer token,
 * context `edgecanary-sandbox`. Written 0600 next to the sandbox state and merged into the
 * user's kubeconfig by `sandbox up`.
 *
 *   sandboxKubeconfig({ apiUrl: 'https://127.0.0.1:6443', caPem, token })
 *   → "apiVersion: v1\nkind: Config\nclusters:\n  - name: edgecanary-sandbox ..."
 */
export function sandboxKubeconfig(opts: { apiUrl: string; caPem: string; token: string }): string {
  const name = SANDBOX_CONTEXT
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name,
        cluster: {
          server: opts.apiUrl,
          'certificate-authority-data': Buffer.from(opts.caPem).toString('base64'),
        },
      },
    ],
    users: [{ name, user: { token: opts.token } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
    preferences: {},
  })
}

/**
 * A kubeconfig as k3s writes `/etc/rancher/k3s/k3s.yaml`: cluster, user and context all named
 * `default`, the server on 127.0.0.1, and the admin client certificate (no token). Tools that
 * fetch it from a server host rewrite `server` to the host's address, as `init --hosts` does.
 *
 *   k3sKubeconfig({ apiPort: 6443, caPem, clientCertPem, clientKeyPem })
 *   → "apiVersion: v1\nclusters:\n  - cluster:\n      certificate-authority-data: … server: https://127.0.0.1:6443 …"
 */
export function k3sKubeconfig(opts: {
  apiPort: number
  caPem: string
  clientCertPem: string
  clientKeyPem: string
}): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64')
  return stringify({
    apiVersion: 'v1',
    clusters: [
      {
        cluster: {
          'certificate-authority-data': b64(opts.caPem),
          server: `https://127.0.0.1:${opts.apiPort}`,
        },
        name: 'default',
      },
    ],
    contexts: [{ context: { cluster: 'default', user: 'default' }, name: 'default' }],
    'current-context': 'default',
    kind: 'Config',
    preferences: {},
    users: [
      {
        name: 'default',
        user: {
          'client-certificate-data': b64(opts.clientCertPem),
          'client-key-data': b64(opts.clientKeyPem),
        },
      },
    ],
  })
}
