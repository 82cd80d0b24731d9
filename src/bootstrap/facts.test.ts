import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { FACTS_COMMAND, parseFacts } from './facts.js'

const out = `machine=aarch64
os=Debian GNU/Linux 12 (bookworm)
mem_kib=3884000
disk_kib=20971520
epoch=1700000003
hostname=pi-a
listen_hex=0016 192B 1F90
cmdline_file=/boot/firmware/cmdline.txt
cmdline=console=serial0,115200 root=PARTUUID=1 rootwait 
`

describe('parseFacts', () => {
  it('reads every fact', () => {
    expect(parseFacts('pi@a', out, 1_700_000_000)).toEqual({
      host: 'pi@a',
      machine: 'aarch64',
      os: 'Debian GNU/Linux 12 (bookworm)',
      memMiB: 3793,
      diskFreeMiB: 20480,
      clockSkewS: 3,
      hostname: 'pi-a',
      busyPorts: [6443],
      cmdlineFile: '/boot/firmware/cmdline.txt',
      cmdlineFlags: false,
      installed: undefined,
    })
  })
  it.each([
    ['cmdline=a cgroup_memory=1 cgroup_enable=memory', { cmdlineFlags: true }],
    ['cmdline=a cgroup_memory=1', { cmdlineFlags: false }],
    ['', { cmdlineFlags: true, cmdlineFile: undefined }], // no cmdline.txt: not a Pi, nothing to fix
    ['installed=server', { installed: 'server' }],
    ['installed=agent\ninstall_unfinished=1', { installed: 'agent', installUnfinished: true }],
    ['listen_hex=280A 1A0B', { busyPorts: [10250] }],
    ['epoch=1699999880', { clockSkewS: -120 }],
  ])('%j', (line, want) => {
    const base = out.replace(/cmdline_file=.*\n|cmdline=.*\n/g, '').replace(/listen_hex=.*\n/, '')
    expect(parseFacts('h', `${base}${line}\n`, 1_700_000_000)).toMatchObject(want)
  })

  it('FACTS_COMMAND runs in a real shell and parses back', () => {
    const text = execFileSync('sh', ['-c', FACTS_COMMAND], { encoding: 'utf8' })
    const f = parseFacts('local', text, Date.now() / 1000)
    expect(f.machine).toBe(execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim())
    expect(f.memMiB).toBeGreaterThan(100)
    expect(f.diskFreeMiB).toBeGreaterThan(0)
    expect(Math.abs(f.clockSkewS)).toBeLessThan(5)
    expect(f.hostname).toBe(execFileSync('hostname', { encoding: 'utf8' }).trim())
  })
})
