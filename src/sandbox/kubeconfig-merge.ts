import { mergeIntoKubeconfig, readKubeconfig, removeContextFromKubeconfig } from '../kubeconfig-file.js'
import { SANDBOX_CONTEXT } from './kubeconfig-fragment.js'
import { fragmentPath } from './lifecycle.js'
import type { SandboxPaths } from './paths.js'

/** Merges the sandbox's context into the user's kubeconfig (the file kubectl would change) and makes it current; returns that file. */
export function mergeSandboxContext(paths: SandboxPaths, flag?: string): string {
  return mergeIntoKubeconfig(flag, readKubeconfig(fragmentPath(paths)), SANDBOX_CONTEXT)[0]
}

/** Removes the sandbox's context from the user's kubeconfig (the file that defines it). */
export function removeSandboxContext(flag?: string): boolean {
  return removeContextFromKubeconfig(flag, SANDBOX_CONTEXT)
}
