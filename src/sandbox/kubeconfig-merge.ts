import { mergeKubeconfig, removeContext } from '../core/kubeconfig.js'
import { kubeconfigPath, readKubeconfig, writeKubeconfig } from '../kubeconfig-file.js'
import { SANDBOX_CONTEXT } from './kubeconfig-fragment.js'
import { fragmentPath } from './lifecycle.js'
import type { SandboxPaths } from './paths.js'

/** Merges the sandbox's context into the user's kubeconfig and makes it current; returns the file. */
export function mergeSandboxContext(paths: SandboxPaths, flag?: string): string {
  const target = kubeconfigPath(flag)
  const merged = mergeKubeconfig(readKubeconfig(target), readKubeconfig(fragmentPath(paths)), {
    makeCurrent: SANDBOX_CONTEXT,
  })
  writeKubeconfig(target, merged)
  return target
}

/** Removes the sandbox's context from the user's kubeconfig. */
export function removeSandboxContext(flag?: string): boolean {
  const target = kubeconfigPath(flag)
  const r = removeContext(readKubeconfig(target), SANDBOX_CONTEXT)
  if (r.removed) writeKubeconfig(target, r.yaml)
  return r.removed
}
