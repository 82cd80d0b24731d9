import { execFileSync, spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { groupCommand, killGroupCommand, takePgid } from './process-group.js'

describe('stoppable remote commands (exact match)', () => {
  it('wraps a command in its own session that names its process group first', () => {
    expect(groupCommand('sleep 30')).toBe(
      `exec setsid -w sh -c 'printf '\\''EC-PGID:%s\\n'\\'' $$ >&2; exec sh -c '\\''sleep 30'\\'''`,
    )
    expect(killGroupCommand(812)).toBe(
      '/bin/kill -s TERM -- -812 2>/dev/null; i=0; while [ $i -lt 20 ]; do pgrep -g 812 -r R,S,D,T,t >/dev/null 2>&1; r=$?; [ $r -eq 1 ] && break; [ $r -gt 1 ] && { /bin/kill -s 0 -- -812 2>/dev/null || break; }; sleep 0.1; i=$((i+1)); done; /bin/kill -s KILL -- -812 2>/dev/null; true',
    )
    for (const bad of [0, 1, -5, 1.5, Number.NaN])
      expect(() => killGroupCommand(bad)).toThrow(/not a process group/)
  })

  it.each([
    ['EC-PGID:812\ncurl: (6) no host\n', { pgid: 812, rest: 'curl: (6) no host\n' }],
    ['sudo: unable to resolve host\nEC-PGID:9\n', { pgid: 9, rest: 'sudo: unable to resolve host\n' }],
    ['EC-PGID:81', undefined],
    ['xEC-PGID:81\n', undefined],
    ['', undefined],
  ])('takePgid(%j)', (stderr, want) => {
    expect(takePgid(stderr)).toEqual(want)
  })

  it('runs here as on a host: the marker names the group, killing it ends the command and its children', async () => {
    const child = spawn('sh', ['-c', groupCommand('sleep 30 & sleep 30; echo never')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    let stderr = ''
    let stdout = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    const pgid = await new Promise<number>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString()
        const got = takePgid(stderr)
        if (got) resolve(got.pgid)
      })
      child.once('exit', () => reject(new Error(`exited before the marker: ${stderr}`)))
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    execFileSync('sh', ['-c', killGroupCommand(pgid)])
    expect(await exited).not.toBe(0)
    expect(stdout).toBe('')
    // nothing of the group is left running (the background sleep included; this machine's
    // init may leave them zombies a while)
    expect(execFileSync('ps', ['-e', '-o', 'pgid=,stat=']).toString()).not.toMatch(
      new RegExp(`^\\s*${pgid}\\s+[^Z\\s]`, 'm'),
    )
  })
})
