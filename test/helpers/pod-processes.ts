import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface PodProcess {
  pid: number
  namespace: string
  pod: string
}

/**
 * The processes a sandbox runs for its pods, found as the kubelet leaves them: each container's
 * wrapper (its command line names the image inside the sandbox's image cache,
 * `<home>/sandbox/images/…`) with everything it started (the entrypoint, natively or through
 * qemu-user, in the container's namespaces), and each pod's network helpers (the namespace
 * holder and its forwarders, `EDGECANARY_POD_DIR` under `<home>/sandbox/`). All carry the pod's
 * `POD_NAME`/`POD_NAMESPACE`. The kubelet keeps no pid file, so /proc is the record.
 */
export function podProcesses(home: string): PodProcess[] {
  const root = `${join(home, 'sandbox', 'images')}/`
  const helperDir = `EDGECANARY_POD_DIR=${join(home, 'sandbox')}/`
  const out: PodProcess[] = []
  const seen = new Set<number>()
  const add = (pid: number, pod: string, namespace: string) => {
    if (seen.has(pid)) return
    seen.add(pid)
    out.push({ pid, namespace, pod })
    try {
      const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
      for (const k of kids ? kids.split(/\s+/) : []) add(Number(k), pod, namespace)
    } catch {}
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0')
      if (!cmdline.includes(root) && !env.some((e) => e.startsWith(helperDir))) continue
      const pod = env.find((e) => e.startsWith('POD_NAME='))?.slice('POD_NAME='.length)
      const namespace = env.find((e) => e.startsWith('POD_NAMESPACE='))?.slice('POD_NAMESPACE='.length)
      if (pod && namespace) add(Number(entry), pod, namespace)
    } catch {
      // gone while we looked
    }
  }
  return out
}

/** 'alive', 'zombie' (dead, not yet reaped by its parent or init) or 'gone'. */
export function processState(pid: number): 'alive' | 'zombie' | 'gone' {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the state letter follows the command name in parentheses, which may itself hold spaces
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state === 'Z' || state === 'X' ? 'zombie' : 'alive'
  } catch {
    return 'gone'
  }
}
