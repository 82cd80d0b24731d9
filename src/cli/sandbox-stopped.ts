import { existsSync } from 'node:fs'
import { UsageError } from '../errors.js'
import { runningPid } from '../sandbox/lifecycle.js'
import { edgecanaryHome, sandboxPaths } from '../sandbox/paths.js'

/**
 * After `edgecanary sandbox down` the kubeconfig has lost the sandbox's context (as kind and k3d
 * do), so connecting says "no current context": when this machine has a sandbox that is not
 * running, say that instead, and how to start it. Any other error is returned as it is.
 *
 *   sandboxStoppedError(new UsageError('the kubeconfig has no current context'))
 *     → UsageError('the sandbox is stopped', { hint: 'start it with `edgecanary sandbox up` …' })
 */
export function sandboxStoppedError(err: unknown, home: string = edgecanaryHome()): unknown {
  if (!(err instanceof UsageError)) return err
  const noContext =
    err.message === 'the kubeconfig has no current context' ||
    /^the kubeconfig \(.*\) has no current context$/.test(err.message) ||
    err.message.startsWith('context "edgecanary-sandbox" is not in the kubeconfig') ||
    /^kubeconfig .* cannot be read: ENOENT/.test(err.message)
  const paths = sandboxPaths(home)
  if (!noContext || !existsSync(paths.stateFile) || runningPid(paths) !== undefined) return err
  return new UsageError('the sandbox is stopped (`edgecanary sandbox down` removed its kubeconfig context)', {
    hint: 'start it with `edgecanary sandbox up` (its objects are kept), or pass --context NAME for another cluster',
    cause: err,
  })
}
