import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'

/** The kubeconfig file to write: --kubeconfig, else the first path of $KUBECONFIG, else ~/.kube/config. */
export function kubeconfigPath(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag
  const first = env.KUBECONFIG?.split(':').find(Boolean)
  return first ?? join(env.HOME ?? homedir(), '.kube', 'config')
}

export function readKubeconfig(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : ''
}

/** Writes a kubeconfig with mode 0600 (it holds credentials), creating its directory. */
export function writeKubeconfig(path: string, yaml: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  writeFileSync(path, yaml, { mode: 0o600 })
  chmodSync(path, 0o600)
}
