import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname } from 'node:path'
import {
  defaultWriteFile,
  type KubeconfigFiles,
  planContextRemoval,
  planKubeconfigMerge,
} from './core/kubeconfig.js'
import { kubeconfigLoadOrder } from './core/kubeconfig-rules.js'

/** Largest kubeconfig file read (kubectl has no limit; ours keeps a stray file from filling memory). */
const MAX_BYTES = 16 * 1024 * 1024

/**
 * The kubeconfig files kubectl reads, in order, with their text (undefined for a file that
 * does not exist): `--kubeconfig` alone, else each path of $KUBECONFIG, else ~/.kube/config.
 */
export function kubeconfigFiles(flag?: string, env: NodeJS.ProcessEnv = process.env): KubeconfigFiles {
  const order = kubeconfigLoadOrder({ flag, env, home: env.HOME ?? homedir() })
  return {
    files: order.paths.map((path) => ({ path, text: readKubeconfigOrUndefined(path) })),
    explicit: order.explicit,
    fromEnv: order.fromEnv,
  }
}

function readKubeconfigOrUndefined(path: string): string | undefined {
  if (!existsSync(path)) return undefined
  const st = statSync(path)
  if (!st.isFile()) throw new Error(`${path} is not a file`)
  if (st.size > MAX_BYTES) throw new Error(`${path} is larger than ${MAX_BYTES} bytes`)
  return readFileSync(path, 'utf8')
}

/** The file kubectl would write a new context to: --kubeconfig, else the first existing path of $KUBECONFIG (else its last), else ~/.kube/config. */
export function kubeconfigPath(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return defaultWriteFile(kubeconfigFiles(flag, env))
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

/**
 * Merges `incoming`'s clusters, users and contexts into the kubeconfig files as kubectl would
 * (existing names changed where they are defined, new ones and the current-context in the
 * file kubectl writes to), keeping comments and unknown fields; every written file is 0600.
 * Returns the files written (first: the one holding the current context).
 */
export function mergeIntoKubeconfig(
  flag: string | undefined,
  incoming: string,
  makeCurrent?: string,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const k = kubeconfigFiles(flag, env)
  const writes = planKubeconfigMerge(k, incoming, makeCurrent)
  // a second `sandbox up` or `init --hosts` changes nothing: unchanged files are not rewritten
  for (const [path, text] of writes) {
    if (text !== k.files.find((f) => f.path === path)?.text) writeKubeconfig(path, text)
  }
  const target = defaultWriteFile(k)
  return [target, ...[...writes.keys()].filter((p) => p !== target)]
}

/** Removes a context (and its cluster and user when unused) from the kubeconfig file(s) defining it; true when it was there. */
export function removeContextFromKubeconfig(
  flag: string | undefined,
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  const writes = planContextRemoval(kubeconfigFiles(flag, env), name)
  for (const [path, text] of writes) writeKubeconfig(path, text)
  return writes.size > 0
}
