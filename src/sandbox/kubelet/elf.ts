import { closeSync, openSync, readSync } from 'node:fs'
import { emulatorFor } from '../../core/node-archs.js'

const MACHINES: Record<number, string> = { 62: 'amd64', 183: 'arm64', 40: 'arm', 3: '386', 243: 'riscv64' }

/**
 * The Go/Kubernetes architecture of an ELF executable from its `e_machine`, or undefined for
 * a file that is not ELF.
 *
 *   elfArch(header of an aarch64 binary) → 'arm64'
 */
export function elfArchOf(header: Buffer): string | undefined {
  if (header.length < 20 || header.readUInt32BE(0) !== 0x7f454c46) return undefined
  const little = header[5] === 1
  const machine = little ? header.readUInt16LE(18) : header.readUInt16BE(18)
  return MACHINES[machine] ?? `elf-machine-${machine}`
}

export function elfArch(file: string): string | undefined {
  const fd = openSync(file, 'r')
  try {
    const buf = Buffer.alloc(20)
    readSync(fd, buf, 0, 20, 0)
    return elfArchOf(buf)
  } finally {
    closeSync(fd)
  }
}

/** Node's `process.arch` in Kubernetes' names. */
export function hostArch(arch: string = process.arch): string {
  return arch === 'x64' ? 'amd64' : arch === 'ia32' ? '386' : arch
}

/**
 * How to run a binary of `binArch` on a node of `nodeArch` on this host: natively, through
 * qemu-user, or not at all (`exec format error`, as on a real node of that arch).
 *
 *   launchPlan('arm64', 'arm64', 'amd64') → { run: 'qemu', qemu: 'qemu-aarch64-static' }
 *   launchPlan('amd64', 'arm64', 'amd64') → { run: 'fail' }
 *   launchPlan('amd64', 'amd64', 'amd64') → { run: 'native' }
 */
export function launchPlan(
  binArch: string | undefined,
  nodeArch: string,
  host: string,
): { run: 'native' } | { run: 'qemu'; qemu: string } | { run: 'fail' } {
  if (binArch !== nodeArch) return { run: 'fail' }
  if (binArch === host) return { run: 'native' }
  const qemu = emulatorFor(binArch, host)
  return qemu ? { run: 'qemu', qemu } : { run: 'fail' }
}

/**
 * Memory quantity in bytes: `64Mi`, `1Gi`, `500M`, `128974848`.
 *
 *   parseQuantity('64Mi') → 67108864
 */
export function parseQuantity(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined
  if (typeof q === 'number') return q
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/.exec(q.trim())
  if (!m) return undefined
  const mult: Record<string, number> = {
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
    k: 1e3,
    K: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  }
  return Math.round(Number(m[1]) * (m[2] ? mult[m[2]] : 1))
}
