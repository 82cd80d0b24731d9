import {
  listenAddress,
  readRegistryState,
  registryPaths,
  registryStatus,
  startRegistryBackground,
  stopRegistry,
} from '../registry/daemon.js'
import { edgecanaryHome } from '../sandbox/paths.js'

/**
 * `--registry laptop`: makes sure the embedded registry serves on the laptop's LAN address
 * (what `edgecanary registry up --address LAN` does; storage and port kept) and returns the
 * HOST:PORT the nodes pull from. A registry already serving on another address is restarted
 * on this one.
 */
export async function ensureLaptopRegistry(lanAddress: string, entry: string): Promise<string> {
  const paths = registryPaths(edgecanaryHome())
  const status = registryStatus(paths)
  if (status.running && status.host && status.address === lanAddress) return status.host
  if (status.running) await stopRegistry(paths)
  const where = listenAddress({ address: lanAddress }, readRegistryState(paths), undefined)
  const state = await startRegistryBackground({ paths, entry, where, env: process.env })
  return state.host
}
