import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface PodProcess {
  pid: number
  namespace: string
  pod: string
}

/**
 * The processes a sandbox runs for its pods, found as the kubelet leaves them: the container
 * entrypoint inside the sandbox's image cache (`<home>/sandbox/images/…`, run directly or through
 * qemu-user) with the pod's `POD_NAME`/`POD_NAMESPACE` in its environment. The kubelet keeps no
 * pid file, so /proc is the record.
 */
export function podProcesses(home: string): PodProcess[] {
  const root = `${join(home, 'sandbox', 'images')}/`
  const out: PodProcess[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
      if (!cmdline.includes(root)) continue
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0')
      const pod = env.find((e) => e.startsWith('POD_NAME='))?.slice('POD_NAME='.length)
      const namespace = env.find((e) => e.startsWith('POD_NAMESPACE='))?.slice('POD_NAMESPACE='.length)
      if (pod && namespace) out.push({ pid: Number(entry), namespace, pod })
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
