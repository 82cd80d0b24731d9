import { createServer } from 'node:net'

/** A free TCP port on 127.0.0.1 (the OS picks it; released before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      s.close(() => resolve(port))
    })
  })
}

/**
 * The address a client on this host uses for a server bound to `bind`: the bind address
 * itself, except that an unspecified one (all interfaces) is reached over loopback.
 *
 *   reachableAddress('10.0.0.2') → '10.0.0.2'
 *   reachableAddress('0.0.0.0')  → '127.0.0.1'
 *   reachableAddress('::')       → '::1'
 */
export function reachableAddress(bind: string): string {
  if (bind === '0.0.0.0') return '127.0.0.1'
  if (bind === '::') return '::1'
  return bind
}

/** `::1` → `[::1]`, `10.0.0.2` → `10.0.0.2`: a host as it appears in a URL. */
export function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}
