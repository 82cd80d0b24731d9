import type { StatusCause } from './api-errors.js'

/** k3s's default service CIDR (`--service-cidr`). */
export const SERVICE_CIDR = '10.43.0.0/16'

function toInt(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip)
  if (!m) return undefined
  const parts = m.slice(1).map(Number)
  if (parts.some((p) => p > 255)) return undefined
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0
}

function toIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

/**
 * Whether an IPv4 address lies in a CIDR.
 *
 *   inCidr('10.43.7.1', '10.43.0.0/16') → true;  inCidr('10.42.0.1', '10.43.0.0/16') → false
 */
export function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/')
  const a = toInt(ip)
  const b = toInt(base)
  if (a === undefined || b === undefined) return false
  const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0
  return (a & mask) === (b & mask)
}

/**
 * The ClusterIP of a new Service, as kube-apiserver's allocator gives it: the one asked for
 * when it is in the service CIDR and free, else a free random one (network and broadcast
 * addresses and .1, the `kubernetes` Service's, excluded); `None` stays headless. Problems come
 * back as the causes of a 422.
 *
 *   allocateClusterIP(new Set(), undefined, () => 0.5) → { ip: '10.43.128.0' }
 *   allocateClusterIP(new Set(), '10.0.0.1') → { causes: [{ field: 'spec.clusterIPs', … 'is not in the valid range' }] }
 */
export function allocateClusterIP(
  used: Set<string>,
  requested: string | undefined,
  random: () => number = Math.random,
  cidr = SERVICE_CIDR,
): { ip: string } | { causes: StatusCause[] } {
  const fail = (why: string): { causes: StatusCause[] } => ({
    causes: [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.clusterIPs',
        message: `Invalid value: []string{${JSON.stringify(requested)}}: failed to allocate IP ${requested}: ${why}`,
      },
    ],
  })
  if (requested === 'None') return { ip: 'None' }
  if (requested) {
    if (toInt(requested) === undefined)
      return {
        causes: [
          {
            reason: 'FieldValueInvalid',
            field: 'spec.clusterIPs[0]',
            message: `Invalid value: ${JSON.stringify(requested)}: must be a valid IP address`,
          },
        ],
      }
    if (!inCidr(requested, cidr))
      return fail(
        `the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${cidr}`,
      )
    if (used.has(requested)) return fail('provided IP is already allocated')
    return { ip: requested }
  }
  const [base, bits] = cidr.split('/')
  const first = (toInt(base) as number) + 2
  const size = 2 ** (32 - Number(bits)) - 3
  const start = Math.floor(random() * size)
  for (let i = 0; i < size; i++) {
    const ip = toIp(first + ((start + i) % size))
    if (!used.has(ip)) return { ip }
  }
  return {
    causes: [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.clusterIPs',
        message: `Invalid value: []string{}: failed to allocate IP: range is full`,
      },
    ],
  }
}
