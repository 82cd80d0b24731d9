import SSHConfig from 'ssh-config'
import { UsageError } from '../errors.js'

/** One host of `--hosts`, resolved the way `ssh` resolves it: spec, then flags, then ~/.ssh/config. */
export interface HostTarget {
  /** What the user wrote: `pi@10.0.0.10`, `pi-a`, `pi@[fe80::1]:2222`. */
  spec: string
  /** The address to connect to (HostName from ~/.ssh/config when the spec names an alias). */
  address: string
  user: string
  port: number
  /** Private keys to try, in order (--ssh-key, then IdentityFile from ~/.ssh/config). */
  identityFiles: string[]
}

export interface HostDefaults {
  /** --user; otherwise ~/.ssh/config's User; otherwise `pi`, Raspberry Pi OS's first user. */
  user?: string
  /** --port; otherwise ~/.ssh/config's Port; otherwise 22. */
  port?: number
  /** --ssh-key. */
  keyFile?: string
  /** Text of ~/.ssh/config ('' when there is none). */
  sshConfig: string
  /** For `~/` in IdentityFile. */
  home: string
}

/** A login name as useradd accepts it (Debian's NAME_REGEX, at most 32 characters). */
const USER_RE = /^[a-z_][a-z0-9_.-]{0,31}$/i
const HOST_RE = /^(?:([a-z_][a-z0-9_.-]*)@)?(?:\[([0-9a-f:.]+)\]|([a-z0-9][a-z0-9_.-]*))(?::(\d{1,5}))?$/i

/**
 * Parses and resolves `--hosts`: a comma list of `[user@]host[:port]` (IPv6 in brackets). The
 * first host becomes the k3s server, the others agents. Explicit parts of a spec win over
 * flags, flags over ~/.ssh/config (Host, HostName, User, Port, IdentityFile), as with `ssh`.
 *
 *   resolveHosts('pi@10.0.0.10,10.0.0.11:2222', { sshConfig: '', home: '/home/me' })
 *   → [{ spec: 'pi@10.0.0.10', address: '10.0.0.10', user: 'pi', port: 22, identityFiles: [] },
 *      { spec: '10.0.0.11:2222', address: '10.0.0.11', user: 'pi', port: 2222, identityFiles: [] }]
 */
export function resolveHosts(list: string, d: HostDefaults): HostTarget[] {
  if (d.user !== undefined && !USER_RE.test(d.user)) {
    throw new UsageError(`--user "${d.user.slice(0, 64)}" is not a user name`, {
      hint: 'a login name as useradd takes it: lowercase letters, digits, "_", "-", "." (at most 32), e.g. --user pi',
    })
  }
  const specs = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (specs.length === 0) {
    throw new UsageError('--hosts names no host', { hint: 'e.g. --hosts pi@10.0.0.10,pi@10.0.0.11' })
  }
  const config = SSHConfig.parse(d.sshConfig)
  const targets = specs.map((spec) => {
    const m = HOST_RE.exec(spec)
    if (!m) {
      throw new UsageError(`"${spec}" is not a host`, {
        hint: 'write hosts as [user@]host[:port], comma-separated, e.g. pi@10.0.0.10,pi@pi-b.local:2222',
      })
    }
    const [, user, v6, name, port] = m
    const host = v6 ?? name
    const c = config.compute(host) as Record<string, string | string[] | undefined>
    const one = (k: string) => {
      const v = c[k]
      return Array.isArray(v) ? v[0] : v
    }
    const portNumber = Number(port ?? d.port ?? one('Port') ?? 22)
    if (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65_535) {
      throw new UsageError(`port of "${spec}" is not between 1 and 65535`, { hint: 'e.g. pi@10.0.0.10:22' })
    }
    const fromConfig = [c.IdentityFile ?? []]
      .flat()
      .map((f) => (f.startsWith('~/') ? `${d.home}/${f.slice(2)}` : f))
    return {
      spec,
      address: one('HostName') ?? host,
      user: user ?? d.user ?? one('User') ?? 'pi',
      port: portNumber,
      identityFiles: [...(d.keyFile ? [d.keyFile] : []), ...fromConfig],
    }
  })
  const seen = new Set<string>()
  for (const t of targets) {
    const key = `${t.address}:${t.port}`
    if (seen.has(key)) {
      throw new UsageError(`${t.address}:${t.port} is named twice in --hosts`, {
        hint: 'each Pi once; the first is the k3s server',
      })
    }
    seen.add(key)
  }
  return targets
}

/** `user@address` or `user@address:port`, for messages and tables. */
export function hostLabel(t: HostTarget): string {
  const addr = t.address.includes(':') ? `[${t.address}]` : t.address
  return `${t.user}@${addr}${t.port === 22 ? '' : `:${t.port}`}`
}
