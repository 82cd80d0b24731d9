/** What `edgecanary version` reports, as `kubectl version` does: client, and server when reachable. */
export interface VersionReport {
  client: { version: string; commit: string; node: string; platform: string }
  /** The API server's `GET /version` (gitVersion, platform), absent when no cluster answered. */
  server?: { gitVersion: string; platform?: string; where: string }
  /** Why there is no server part (no kubeconfig, unreachable), one line. */
  serverError?: string
}

/**
 * The human lines of `edgecanary version`, kubectl's layout: the client first, then the server or
 * the one-line reason there is none.
 *
 *   versionLines({ client: { version: '0.1.0', commit: 'abc1234', node: 'v20.20.2', platform: 'linux/x64' },
 *                  server: { gitVersion: 'v1.32.0+k3s1', platform: 'linux/arm64', where: 'context pi (https://10.0.0.2:6443)' } })
 *   → ['Client Version: 0.1.0 (commit abc1234, node v20.20.2, linux/x64)',
 *      'Server Version: v1.32.0+k3s1 (linux/arm64) at context pi (https://10.0.0.2:6443)']
 */
export function versionLines(r: VersionReport): string[] {
  const c = r.client
  const lines = [`Client Version: ${c.version} (commit ${c.commit}, node ${c.node}, ${c.platform})`]
  if (r.server) {
    const s = r.server
    lines.push(`Server Version: ${s.gitVersion}${s.platform ? ` (${s.platform})` : ''} at ${s.where}`)
  } else if (r.serverError) lines.push(`Server Version: unknown (${r.serverError})`)
  return lines
}

/**
 * A commit for humans: a full hex object name shortened to 12 characters, anything else
 * (empty, "unknown") as "unknown".
 *
 *   shortCommit('87e3226a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e') → '87e3226a0b1c'
 *   shortCommit('87e3226a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e-dirty') → '87e3226a0b1c-dirty'
 *   shortCommit('') → 'unknown'
 */
export function shortCommit(commit: string | undefined): string {
  const m = /^([0-9a-f]{7,40})(-dirty)?$/.exec(commit?.trim() ?? '')
  return m ? `${m[1].slice(0, 12)}${m[2] ?? ''}` : 'unknown'
}
