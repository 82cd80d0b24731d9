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
    /** Nodes that joined through the join endpoint; their kubelets come back on the next `up`. */
    joinedNodes: join(dir, 'joined-nodes.json'),
  }
}

export type SandboxPaths = ReturnType<typeof sandboxPaths>

/** What a running sandbox publishes for clients (`sandbox status`, kubeconfig merge, tests). */
export interface SandboxState {
  pid: number
  apiUrl: string
  apiPort: number
  /** Address the API server and the service proxy bind to (absent: 127.0.0.1). */
  address?: string
  registry: string
  registryPort: number
  /** pi-1 … pi-N, then the nodes that joined. */
  nodes: string[]
  arch: string
  startedAt: string
}
