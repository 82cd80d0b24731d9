import { UsageError } from '../errors.js'
import { apiJson, readState, runningPid } from './lifecycle.js'
import type { SandboxPaths } from './paths.js'

export const FAULT_KINDS = [
  'node-stop',
  'node-start',
  'api-error',
  'api-restart',
  'slow-pulls',
  'registry-down',
  'registry-up',
] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

/**
 * Sends a fault to the running sandbox: over its admin endpoint (same TLS and token as the
 * API), or, for an API restart, as SIGHUP to the sandbox process (the API cannot restart itself
 * while answering the request that asks for it).
 */
export async function injectFault(
  paths: SandboxPaths,
  kind: FaultKind,
  o: { node?: string; status?: 500 | 429; count?: number; seconds?: number; ms?: number },
): Promise<void> {
  const pid = runningPid(paths)
  const state = pid === undefined ? undefined : readState(paths)
  if (pid === undefined || !state) {
    throw new UsageError('the sandbox is not running', { hint: 'run `edgecanary sandbox up` first' })
  }
  if (kind === 'api-restart') {
    process.kill(pid, 'SIGHUP')
    return
  }
  const call = (path: string, body: unknown) => apiJson(paths, state, 'POST', path, body)
  const r =
    kind === 'node-stop' || kind === 'node-start'
      ? await call(
          `/admin/nodes/${encodeURIComponent(o.node ?? '')}/${kind === 'node-stop' ? 'stop' : 'start'}`,
          {},
        )
      : kind === 'api-error'
        ? await call('/admin/faults/api', { status: o.status ?? 500, count: o.count, seconds: o.seconds })
        : kind === 'slow-pulls'
          ? await call('/admin/faults/pulls', { ms: o.ms ?? 0 })
          : await call('/admin/faults/registry', { down: kind === 'registry-down' })
  if (r.status >= 300) {
    const msg = (r.json as { message?: string })?.message ?? `HTTP ${r.status}`
    throw new UsageError(`the sandbox refused the fault: ${msg}`, {
      hint: 'check the node name with `edgecanary sandbox status`',
    })
  }
}
