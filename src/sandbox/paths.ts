import { homedir } from 'node:os'
import { join } from 'node:path'

/** Where edgecanary keeps local state: `$EDGECANARY_HOME`, default `~/.edgecanary`. */
export function edgecanaryHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.EDGECANARY_HOME || join(homedir(), '.edgecanary')
}

/**
 * The files of one sandbox under `<home>/sandbox`.
 *
 *   sandboxPaths('/h').pidFile → '/h/sandbox/sandbox.pid'
 */
export function sandboxPaths(home: string) {
  const dir = join(home, 'sandbox')
  return {
    dir,
    pidFile: join(dir, 'sandbox.pid'),
    logFile: join(dir, 'sandbox.log'),
    /** Addresses, chosen once and kept across down/up so kubeconfigs and URLs stay valid. */
    stateFile: join(dir, 'state.json'),
    storeFile: join(dir, 'store.json'),
    pki: join(dir, 'pki'),
    registry: join(dir, 'registry'),
    images: join(dir, 'images'),
    nodes: join(dir, 'nodes'),
    servicePorts: join(dir, 'service-ports.json'),
  }
}

export type SandboxPaths = ReturnType<typeof sandboxPaths>

/** What a running sandbox publishes for clients (`sandbox status`, kubeconfig merge, tests). */
export interface SandboxState {
  pid: number
  apiUrl: string
  apiPort: number
  registry: string
  registryPort: number
  nodes: string[]
  arch: string
  startedAt: string
}
