import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectShell } from '../../src/adapters/ssh-shell.js'
import { freePort, waitFor } from '../helpers/ports.js'

// A real OpenSSH server on a loopback port, with its own host key.
describe('SSH remote shell (ssh2) against a real sshd', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ec-ssh-'))
  const known = join(dir, 'known_hosts')
  let port = 0
  let sshd: ChildProcess | undefined

  const startSshd = async (hostKey: string) => {
    sshd = spawn(
      '/usr/sbin/sshd',
      [
        '-D',
        '-e',
        '-p',
        String(port),
        '-h',
        hostKey,
        '-o',
        `AuthorizedKeysFile=${join(dir, 'authorized_keys')}`,
        '-o',
        `PidFile=${join(dir, 'sshd.pid')}`,
        '-o',
        'StrictModes=no',
        '-o',
        'ListenAddress=127.0.0.1',
        '-o',
        'PermitRootLogin=prohibit-password',
        '-o',
        'PasswordAuthentication=no',
      ],
      { stdio: 'ignore' },
    )
    await waitFor(
      'sshd',
      async () => {
        const { connect } = await import('node:net')
        return new Promise<true | undefined>((resolve) => {
          const s = connect(port, '127.0.0.1', () => {
            s.destroy()
            resolve(true)
          })
          s.on('error', () => resolve(undefined))
        })
      },
      10_000,
      50,
    )
  }
  const stopSshd = async () => {
    if (sshd?.exitCode === null) {
      sshd.kill('SIGTERM')
      await new Promise((r) => sshd?.on('exit', r))
    }
  }
  const shell = (accept = false) =>
    connectShell({
      host: '127.0.0.1',
      port,
      user: 'root',
      keyFiles: [join(dir, 'client')],
      knownHostsFile: known,
      acceptNewHostKeys: accept,
    })

  beforeAll(async () => {
    mkdirSync('/run/sshd', { recursive: true })
    for (const k of ['host1', 'host2', 'client'])
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, k)])
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client.pub')))
    port = await freePort()
    await startSshd(join(dir, 'host1'))
  })
  afterAll(async () => {
    await stopSshd()
    rmSync(dir, { recursive: true, force: true })
  })

  it('refuses an unknown host key without --accept-new-host-keys, showing its fingerprint', async () => {
    const fp = execFileSync('ssh-keygen', ['-lf', join(dir, 'host1.pub')], { encoding: 'utf8' }).split(' ')[1]
    await expect(shell(false)).rejects.toThrow(`is not in ${known} (key ${fp})`)
    expect(existsSync(known)).toBe(false)
  })

  it('records an accepted key, then runs commands and uploads files with a mode', async () => {
    const sh = await shell(true)
    expect(readFileSync(known, 'utf8')).toContain(`[127.0.0.1]:${port} ssh-ed25519 `)
    const r = await sh.run('uname -m; echo err >&2; exit 3')
    expect(r).toMatchObject({
      stdout: `${execFileSync('uname', ['-m'], { encoding: 'utf8' })}`,
      stderr: 'err\n',
      code: 3,
    })
    const target = join(dir, 'up', 'file.bin')
    const bytes = Buffer.from([0, 1, 2, 255, 254, 10])
    await sh.upload(bytes, target, 0o640)
    expect(readFileSync(target)).toEqual(bytes)
    expect(statSync(target).mode & 0o777).toBe(0o640)
    sh.close()
    const again = await shell(false)
    expect((await again.run('echo ok')).stdout).toBe('ok\n')
    again.close()
  })

  it('a command run with a signal is ended on the host (its whole process group) when the signal fires or it times out', async () => {
    const sh = await shell()
    // a killed process may stay a zombie until something reaps it: that is gone too
    const gone = (pid: number) =>
      !existsSync(`/proc/${pid}`) || /^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
    const pidsOf = (f: string) => readFileSync(f, 'utf8').trim().split('\n').map(Number)
    try {
      // unchanged output and exit code; the process group marker is not in stderr
      const plain = await sh.run('echo out; echo err >&2; exit 3', { signal: new AbortController().signal })
      expect(plain).toEqual({ stdout: 'out\n', stderr: 'err\n', code: 3 })

      const pids = join(dir, 'pids')
      const stop = new AbortController()
      const running = sh.run(`sleep 30 & echo $! > ${pids}; echo $$ >> ${pids}; wait; touch ${pids}.done`, {
        signal: stop.signal,
      })
      await waitFor(
        'the command',
        async () => (existsSync(pids) && pidsOf(pids).length === 2) || undefined,
        10_000,
        50,
      )
      stop.abort(new Error('stopped because pi@b failed'))
      await expect(running).rejects.toThrow('stopped because pi@b failed')
      for (const p of pidsOf(pids)) expect(gone(p), `pid ${p}`).toBe(true)
      expect(existsSync(`${pids}.done`)).toBe(false)
      // an already fired signal runs nothing
      await expect(sh.run(`touch ${pids}.ran`, { signal: stop.signal })).rejects.toThrow('stopped because')
      expect(existsSync(`${pids}.ran`)).toBe(false)

      rmSync(pids)
      const slow = sh.run(`sleep 30 & echo $! > ${pids}; wait`, {
        signal: new AbortController().signal,
        timeoutMs: 1_500,
      })
      await expect(slow).rejects.toThrow(/timed out/)
      for (const p of pidsOf(pids)) expect(gone(p), `pid ${p}`).toBe(true)
    } finally {
      sh.close()
    }
  })

  it('logs in with a key held by a real ssh-agent when no key file is found', async () => {
    const sock = join(dir, 'agent.sock')
    const out = execFileSync('ssh-agent', ['-a', sock], { encoding: 'utf8' })
    const agentPid = Number(/SSH_AGENT_PID=(\d+)/.exec(out)?.[1])
    const saved = process.env.SSH_AUTH_SOCK
    try {
      execFileSync('ssh-add', ['-q', join(dir, 'client')], { env: { ...process.env, SSH_AUTH_SOCK: sock } })
      process.env.SSH_AUTH_SOCK = sock
      const sh = await connectShell({
        host: '127.0.0.1',
        port,
        user: 'root',
        keyFiles: [join(dir, 'no-such-key')],
        knownHostsFile: known,
      })
      expect((await sh.run('echo via-agent')).stdout).toBe('via-agent\n')
      sh.close()
      // without the agent the same call has no key to offer and is refused
      process.env.SSH_AUTH_SOCK = ''
      await expect(
        connectShell({
          host: '127.0.0.1',
          port,
          user: 'root',
          keyFiles: [join(dir, 'no-such-key')],
          knownHostsFile: known,
        }),
      ).rejects.toThrow('refused our SSH keys')
    } finally {
      process.env.SSH_AUTH_SOCK = saved
      if (agentPid > 0) process.kill(agentPid)
    }
  })

  it('sends the sudo password only to a sudo that asks: a NOPASSWD sudo never gets it on stdin', async () => {
    // root's sudo asks for no password: what the command reads on stdin is only what was sent
    const sh = await connectShell({
      host: '127.0.0.1',
      port,
      user: 'root',
      keyFiles: [join(dir, 'client')],
      knownHostsFile: known,
      sudoPassword: 'pw-not-for-this-sudo',
    })
    try {
      const r = await sh.run('cat; id -u', { sudo: true, stdin: 'payload\n' })
      expect(r).toMatchObject({ code: 0, stdout: 'payload\n0\n' })
      expect(r.stdout + r.stderr).not.toContain('pw-not-for-this-sudo')
    } finally {
      sh.close()
    }
  })

  it('refuses a host whose key is @revoked in known_hosts, even beside a matching line (as OpenSSH)', async () => {
    const saved = readFileSync(known, 'utf8')
    const pub = readFileSync(join(dir, 'host1.pub'), 'utf8').split(' ').slice(0, 2).join(' ')
    try {
      writeFileSync(known, `${saved}@revoked * ${pub}\n`)
      const fp = execFileSync('ssh-keygen', ['-lf', join(dir, 'host1.pub')], { encoding: 'utf8' }).split(
        ' ',
      )[1]
      await expect(shell(true)).rejects.toThrow(
        `the host key of [127.0.0.1]:${port} (${fp}) is marked @revoked`,
      )
      // OpenSSH's own client agrees
      const ssh = spawnSync('ssh', [
        '-p',
        String(port),
        '-i',
        join(dir, 'client'),
        '-o',
        `UserKnownHostsFile=${known}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        'BatchMode=yes',
        'root@127.0.0.1',
        'true',
      ])
      expect(ssh.status).not.toBe(0)
      expect(ssh.stderr.toString()).toContain('REVOKED')
    } finally {
      writeFileSync(known, saved)
    }
  })

  it('a host trusted only through @cert-authority is refused with a clear message, not as a changed key', async () => {
    const saved = readFileSync(known, 'utf8')
    const ca = readFileSync(join(dir, 'host2.pub'), 'utf8').split(' ').slice(0, 2).join(' ')
    try {
      writeFileSync(known, `@cert-authority [127.0.0.1]:* ${ca}\n`)
      await expect(shell(true)).rejects.toThrow(
        `${known} trusts [127.0.0.1]:${port} through a @cert-authority line; edgecanary checks host keys, not host certificates`,
      )
      expect(readFileSync(known, 'utf8')).toBe(`@cert-authority [127.0.0.1]:* ${ca}\n`)
    } finally {
      writeFileSync(known, saved)
    }
  })

  it('refuses a changed host key, always, naming the new fingerprint', async () => {
    await stopSshd()
    await startSshd(join(dir, 'host2'))
    const fp = execFileSync('ssh-keygen', ['-lf', join(dir, 'host2.pub')], { encoding: 'utf8' }).split(' ')[1]
    await expect(shell(true)).rejects.toThrow(`has CHANGED (now ${fp})`)
  })

  it('an unreachable host is a clear error', async () => {
    const closed = await freePort()
    await expect(
      connectShell({
        host: '127.0.0.1',
        port: closed,
        user: 'root',
        keyFiles: [join(dir, 'client')],
        knownHostsFile: known,
      }),
    ).rejects.toThrow('unreachable over SSH')
  })
})
