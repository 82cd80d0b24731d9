import type { HostReport } from './service.js'

/**
 * The preflight table, one row per host, as `init --hosts` prints it.
 *
 *   hostTable([{ host: 'pi@10.0.0.10', role: 'server', hostname: 'pi-a', arch: 'arm64', memMiB: 3792, … ok: true }])
 *   → ['HOST          ROLE    HOSTNAME  ARCH   MEM   DISK  SKEW  CGROUPS  VERDICT',
 *      'pi@10.0.0.10  server  pi-a      arm64  3.7G  20G   0s    ok       ok']
 */
export function hostTable(reports: HostReport[]): string[] {
  const gib = (mib?: number) => (mib === undefined ? '-' : `${(mib / 1024).toFixed(mib < 10_240 ? 1 : 0)}G`)
  const rows = [
    ['HOST', 'ROLE', 'HOSTNAME', 'ARCH', 'MEM', 'DISK', 'SKEW', 'CGROUPS', 'VERDICT'],
    ...reports.map((r) => [
      r.host,
      r.role,
      r.hostname ?? '-',
      r.arch ?? '-',
      gib(r.memMiB),
      gib(r.diskFreeMiB),
      r.clockSkewS === undefined ? '-' : `${r.clockSkewS}s`,
      r.cgroups ?? 'missing',
      r.ok ? (r.warnings.length ? `ok (${r.warnings.join('; ')})` : 'ok') : r.problems.join('; '),
    ]),
  ]
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)))
  return rows.map((row) =>
    row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]))).join('  '),
  )
}
