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
