/**
 * `--registry laptop`: makes sure the embedded registry serves on the laptop's LAN address
 * (`edgecanary registry up --address LAN`) and returns HOST:PORT for the nodes.
 */
export async function ensureLaptopRegistry(lanAddress: string): Promise<string> {
  throw new Error(`not wired yet: ${lanAddress}`)
}
