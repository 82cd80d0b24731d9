import { describe, expect, it } from 'vitest'
import { hostTable } from './report.js'
import type { HostReport } from './service.js'

const ok: HostReport = {
  host: 'pi@10.0.0.10',
  role: 'server',
  hostname: 'pi-a',
  arch: 'arm64',
  memMiB: 3792,
  diskFreeMiB: 20480,
  clockSkewS: 0,
  cgroups: 'ok',
  step: 'done',
  ok: true,
  problems: [],
  hints: [],
  warnings: [],
}

describe('hostTable', () => {
  it('aligns one row per host under a header', () => {
    expect(
      hostTable([
        ok,
        {
          ...ok,
          host: 'pi@10.0.0.11',
          role: 'agent',
          hostname: undefined,
          arch: undefined,
          memMiB: undefined,
          diskFreeMiB: undefined,
          clockSkewS: undefined,
          cgroups: undefined,
          ok: false,
          problems: ['pi@10.0.0.11 is unreachable over SSH: ECONNREFUSED'],
        },
        {
          ...ok,
          host: 'pi@10.0.0.12',
          role: 'agent',
          hostname: 'pi-c',
          clockSkewS: 9,
          warnings: ['clock is off by 9 s'],
        },
      ]),
    ).toEqual([
      'HOST          ROLE    HOSTNAME  ARCH   MEM   DISK  SKEW  CGROUPS  VERDICT',
      'pi@10.0.0.10  server  pi-a      arm64  3.7G  20G   0s    ok       ok',
      'pi@10.0.0.11  agent   -         -      -     -     -     missing  pi@10.0.0.11 is unreachable over SSH: ECONNREFUSED',
      'pi@10.0.0.12  agent   pi-c      arm64  3.7G  20G   9s    ok       ok (clock is off by 9 s)',
    ])
  })
})
