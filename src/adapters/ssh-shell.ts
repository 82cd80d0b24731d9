import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { connect as tcpConnect } from 'node:net'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { Client, type ConnectConfig } from 'ssh2'
import { checkHostKey, fingerprint, knownHostName, knownHostsLine } from '../bootstrap/known-hosts.js'
import { groupCommand, killGroupCommand, takePgid } from '../bootstrap/process-group.js'
import { UnreachableError, UsageError } from '../errors.js'
import type { RemoteShell, RunResult } from '../ports.js'

export interface SshOptions {
  host: string
  port?: number
  user: string
  /** Private key files to try (default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa); the agent is used too. */
  keyFiles?: string[]
  knownHostsFile?: string
  /** First contact: record an unknown host key instead of refusing it. A changed key is always refused. */
  acceptNewHostKeys?: boolean
  sudoPassword?: string
  timeoutMs?: number
}

/**
 * Opens an SSH session with ssh2: keys from ~/.ssh and the agent, host key checked against
 * known_hosts (unknown refused unless accepted explicitly, changed always refused with the
 * fingerprint shown).
 */
export async function connectShell(o: SshOptions): Promise<RemoteShell> {
  const port = o.port ?? 22
  const home = process.env.HOME ?? homedir()
  const knownHosts = o.knownHostsFile ?? join(home, '.ssh', 'known_hosts')
  const name = knownHostName(o.host, port)
  const keyFile = (o.keyFiles ?? ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((k) => join(home, '.ssh', k))).find(
    (f) => existsSync(f),
  )
  let hostKeyProblem: UsageError | undefined
  const config: ConnectConfig = {
    host: o.host,
    port,
    username: o.user,
    readyTimeout: o.timeoutMs ?? 10_000,
    ...(keyFile ? { privateKey: readFileSync(keyFile) } : {}),
    ...(process.env.SSH_AUTH_SOCK ? { agent: process.env.SSH_AUTH_SOCK } : {}),
    hostVerifier: (key: Buffer) => {
      const text = existsSync(knownHosts) ? readFileSync(knownHosts, 'utf8') : ''
      const verdict = checkHostKey(text, name, key)
      if (verdict === 'match') return true
      if (verdict === 'revoked') {
        hostKeyProblem = new UsageError(
          `the host key of ${name} (${fingerprint(key)}) is marked @revoked in ${knownHosts}; refusing to connect`,
          { hint: 'the key was revoked on purpose: find out why before removing the @revoked line' },
        )
        return false
      }
      if (verdict === 'cert-authority') {
        hostKeyProblem = new UsageError(
          `${knownHosts} trusts ${name} through a @cert-authority line; edgecanary checks host keys, not host certificates`,
          {
            hint: `add the host's own key: check ${fingerprint(key)} on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then ssh-keyscan ${name.replace(/^\[(.*)\]:(\d+)$/, '-p $2 $1')} >> ${knownHosts}`,
          },
        )
        return false
      }
      if (verdict === 'changed') {
        hostKeyProblem = new UsageError(
          `the host key of ${name} has CHANGED (now ${fingerprint(key)}); refusing to connect`,
          {
            hint: `if the host was reinstalled, remove the old key with: ssh-keygen -R '${name}'`,
          },
        )
        return false
      }
      if (!o.acceptNewHostKeys) {
        hostKeyProblem = new UsageError(`${name} is not in ${knownHosts} (key ${fingerprint(key)})`, {
          hint: 'check the fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then pass --accept-new-host-keys',
        })
        return false
      }
      mkdirSync(dirname(knownHosts), { recursive: true, mode: 0o700 })
      appendFileSync(knownHosts, knownHostsLine(name, key), { mode: 0o600 })
      return true
    },
  }
  // Our own TCP socket, so the laptop's address as the host sees it (its LAN address) is known.
  const sock = tcpConnect({ host: o.host, port })
  const localAddress = await new Promise<string | undefined>((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.destroy()
      reject(
        new UnreachableError(`${o.user}@${name} is unreachable over SSH: connect timed out`, {
          hint: 'check the address, that sshd runs, and the network',
        }),
      )
    }, o.timeoutMs ?? 10_000)
    sock.once('connect', () => {
      clearTimeout(timer)
      resolve(sock.localAddress)
    })
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      reject(
        new UnreachableError(`${o.user}@${name} is unreachable over SSH: ${err.code ?? err.message}`, {
          hint: 'check the address, that sshd runs, and the network',
        }),
      )
    })
  })
  config.sock = sock
  const client = new Client()
  await new Promise<void>((resolve, reject) => {
    // A host going down mid-handshake (a reboot) may close the socket with no 'error' at all;
    // without these two the promise would wait forever.
    const handshake = setTimeout(
      () => {
        client.end()
        reject(
          new UnreachableError(`${o.user}@${name} is unreachable over SSH: handshake timed out`, {
            hint: 'check that sshd runs on the host',
          }),
        )
      },
      (o.timeoutMs ?? 10_000) + 1_000,
    )
    client.once('ready', () => {
      clearTimeout(handshake)
      resolve()
    })
    client.once('close', () => {
      clearTimeout(handshake)
      reject(
        hostKeyProblem ??
          new UnreachableError(
            `${o.user}@${name} is unreachable over SSH: connection closed during the handshake`,
            {
              hint: 'check that sshd runs on the host',
            },
          ),
      )
    })
    client.once('error', (err: Error & { level?: string }) => {
      clearTimeout(handshake)
      if (hostKeyProblem) return reject(hostKeyProblem)
      if (err.level === 'client-authentication') {
        return reject(
          new UsageError(`${o.user}@${name} refused our SSH keys`, {
            hint: 'add your public key to ~/.ssh/authorized_keys on the host, or pass --ssh-key',
          }),
        )
      }
      reject(
        new UnreachableError(`${o.user}@${name} is unreachable over SSH: ${err.message}`, {
          hint: 'check the address, that sshd runs, and the network',
        }),
      )
    })
    client.connect(config)
  })

  // After the handshake a dropped connection (a host rebooting) must not crash the process:
  // it is remembered, and the next command fails with it.
  let lost: Error | undefined
  client.on('error', (err: Error) => {
    lost = err
  })
  client.on('close', () => {
    lost ??= new Error('connection closed')
  })

  const exec = (
    full: string,
    opts: {
      timeoutMs?: number
      stdin?: string | Buffer
      password?: string
      /** The command prints its process group first on stderr (groupCommand): taken out, passed here. */
      onPgid?: (pgid: number) => void
      /** Closes the channel 5 s after the signal, if the command has not ended by then. */
      signal?: AbortSignal
    },
  ): Promise<RunResult> =>
    new Promise((resolve, reject) => {
      if (lost) {
        return reject(
          new UnreachableError(`${o.user}@${name} dropped the SSH connection: ${lost.message}`, {
            hint: 'check that the host is up, then run again',
          }),
        )
      }
      client.exec(full, (err, stream) => {
        if (err) return reject(err)
        let stdout = ''
        let stderr = ''
        let pgidSeen = !opts.onPgid
        let closer: NodeJS.Timeout | undefined
        const onAbort = () => {
          closer = setTimeout(() => stream.close(), 5_000)
        }
        if (opts.signal?.aborted) onAbort()
        else opts.signal?.addEventListener('abort', onAbort, { once: true })
        const timer = setTimeout(() => {
          stream.close()
          reject(
            new UnreachableError(
              `command on ${name} timed out after ${(opts.timeoutMs ?? 120_000) / 1000}s`,
              { hint: 'see the host for what hangs' },
            ),
          )
        }, opts.timeoutMs ?? 120_000)
        stream.on('data', (d: Buffer) => {
          stdout += d.toString()
        })
        stream.stderr.on('data', (d: Buffer) => {
          stderr += d.toString()
          if (!pgidSeen) {
            const got = takePgid(stderr)
            if (got) {
              pgidSeen = true
              stderr = got.rest
              opts.onPgid?.(got.pgid)
            }
          }
        })
        stream.on('close', (code: number | null) => {
          clearTimeout(timer)
          clearTimeout(closer)
          opts.signal?.removeEventListener('abort', onAbort)
          resolve({ stdout, stderr, code: code ?? 255 })
        })
        if (opts.password !== undefined) stream.write(`${opts.password}\n`)
        if (opts.stdin !== undefined) stream.write(opts.stdin)
        stream.end()
      })
    })

  // The sudo password goes only to a sudo that asks for one: `sudo -n true` first (once per
  // session) tells whether it would; a NOPASSWD sudo never gets the password on its stdin,
  // where the command would read it.
  let sudoAsks: Promise<boolean> | undefined
  type ExecOpts = Parameters<typeof exec>[1]
  const plainRun = async (cmd: string, opts: ExecOpts & { sudo?: boolean } = {}): Promise<RunResult> => {
    if (!opts.sudo) return exec(cmd, opts)
    if (o.sudoPassword !== undefined) {
      sudoAsks ??= exec('sudo -n true', { timeoutMs: 30_000 }).then((r) => r.code !== 0)
      if (await sudoAsks)
        return exec(`sudo -S -p '' sh -c ${shq(cmd)}`, { ...opts, password: o.sudoPassword })
    }
    return exec(`sudo -n sh -c ${shq(cmd)}`, opts)
  }
  // With a signal, the command runs in its own process group on the host; when the signal
  // fires, that group is ended there (TERM, then KILL), its channel closes, and the call
  // rejects with the signal's reason. A command that ended before the signal returns as usual.
  const run = async (
    cmd: string,
    opts: { sudo?: boolean; timeoutMs?: number; stdin?: string | Buffer; signal?: AbortSignal } = {},
  ): Promise<RunResult> => {
    const { signal, ...rest } = opts
    const stoppedBy = (s: AbortSignal) =>
      s.reason instanceof Error ? s.reason : new Error(`stopped: ${String(s.reason)}`)
    if (!signal) return plainRun(cmd, rest)
    if (signal.aborted) throw stoppedBy(signal)
    let pgid: number | undefined
    let killing: Promise<unknown> | undefined
    const kill = () => {
      if (pgid === undefined || killing) return
      killing = plainRun(killGroupCommand(pgid), { sudo: opts.sudo, timeoutMs: 15_000 }).catch(
        () => undefined,
      )
    }
    signal.addEventListener('abort', kill, { once: true })
    try {
      const r = await plainRun(groupCommand(cmd), {
        ...rest,
        signal,
        onPgid: (n) => {
          pgid = n
          if (signal.aborted) kill()
        },
      })
      if (killing) {
        await killing
        throw stoppedBy(signal)
      }
      // stopped before it named its process group (the channel was closed on it)
      if (signal.aborted && pgid === undefined) throw stoppedBy(signal)
      return r
    } catch (err) {
      // timed out: the processes are ended on the host too, not left running there
      if (pgid !== undefined && !killing) {
        await plainRun(killGroupCommand(pgid), { sudo: opts.sudo, timeoutMs: 15_000 }).catch(() => undefined)
      }
      throw err
    } finally {
      signal.removeEventListener('abort', kill)
    }
  }

  return {
    host: name,
    localAddress,
    run,
    async upload(content, remotePath, mode, opts = {}) {
      const tmp = `/tmp/.edgecanary-${Date.now()}-${Math.random().toString(36).slice(2)}`
      try {
        const r1 = await run(`umask 077 && cat > ${shq(tmp)}`, { stdin: content, signal: opts.signal })
        if (r1.code !== 0) throw new Error(`upload to ${name} failed: ${r1.stderr.trim()}`)
        const r2 = await run(
          `mkdir -p ${shq(dirname(remotePath))} && install -m ${mode.toString(8)} ${shq(tmp)} ${shq(remotePath)}`,
          { sudo: opts.sudo, signal: opts.signal },
        )
        if (r2.code !== 0) throw new Error(`installing ${remotePath} on ${name} failed: ${r2.stderr.trim()}`)
      } finally {
        // the temporary copy goes whether or not the upload worked or was stopped (it may hold a secret)
        await run(`rm -f ${shq(tmp)}`, { timeoutMs: 15_000 }).catch(() => undefined)
      }
    },
    close: () => client.end(),
  }
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}
