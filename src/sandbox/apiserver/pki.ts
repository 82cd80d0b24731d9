import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { UsageError } from '../../errors.js'

export interface Pki {
  caPem: string
  serverCertPem: string
  serverKeyPem: string
  clientCertPem: string
  clientKeyPem: string
  token: string
}

const DAYS = '3650'
const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
/** The names every sandbox API certificate carries (the pki of earlier versions had exactly these). */
const DEFAULT_SANS = ['127.0.0.1', 'localhost', '::1']
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9*]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
}

/**
 * The subjectAltName of the API server certificate: the defaults, then `extra` (IP addresses
 * and DNS names, as k3s's `--tls-san`), without duplicates. An unspecified address (0.0.0.0,
 * ::) names no host and is left out.
 *
 *   subjectAltNames([])                          → 'IP:127.0.0.1,DNS:localhost,IP:::1'
 *   subjectAltNames(['10.0.0.2', 'pi-a.local']) → 'IP:127.0.0.1,DNS:localhost,IP:::1,IP:10.0.0.2,DNS:pi-a.local'
 *   subjectAltNames(['a b'])                     → throws UsageError
 */
export function subjectAltNames(extra: string[]): string {
  const out: string[] = []
  for (const raw of [...DEFAULT_SANS, ...extra]) {
    const name = raw.trim()
    if (name === '0.0.0.0' || name === '::') continue
    let entry: string
    if (isIP(name)) entry = `IP:${name}`
    else if (DNS_NAME.test(name)) entry = `DNS:${name.toLowerCase()}`
    else
      throw new UsageError(`"${raw}" is neither an IP address nor a DNS name`, {
        hint: 'pass --tls-san as an IP (192.168.1.10) or a host name (pi-a.local)',
      })
    if (!out.includes(entry)) out.push(entry)
  }
  return out.join(',')
}

/**
 * The sandbox's CA, server certificate (127.0.0.1, localhost, ::1 and `extraSans`), admin
 * client certificate (CN=admin, O=system:masters) and bearer token, made with the openssl CLI
 * once and reused, so kubeconfigs stay valid across restarts. The server certificate is issued
 * again (by the same CA) when the wanted SANs differ from those it was made with (kept in
 * `server.san`), so a new `--address`/`--tls-san` takes effect without invalidating clients.
 * Keys and the token are written 0600.
 */
export function ensurePki(dir: string, extraSans: string[] = []): Pki {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const f = (n: string) => join(dir, n)
  const sans = subjectAltNames(extraSans)
  if (!existsSync(f('ca.crt'))) {
    openssl(
      [
        'req',
        '-x509',
        ...KEY,
        '-keyout',
        'ca.key',
        '-out',
        'ca.crt',
        '-days',
        DAYS,
        '-subj',
        '/CN=edgecanary-sandbox-ca',
      ],
      dir,
    )
    issue(dir, 'admin', '/O=system:masters/CN=admin', 'extendedKeyUsage=clientAuth\n')
    writeFileSync(f('token'), randomBytes(24).toString('hex'), { mode: 0o600 })
  }
  // a pki from before server.san existed was made with exactly the defaults
  const madeWith = existsSync(f('server.san'))
    ? readFileSync(f('server.san'), 'utf8').trim()
    : existsSync(f('server.crt'))
      ? subjectAltNames([])
      : ''
  if (madeWith !== sans || !existsSync(f('server.crt'))) {
    issue(
      dir,
      'server',
      '/CN=edgecanary-sandbox-apiserver',
      `subjectAltName=${sans}\nextendedKeyUsage=serverAuth\n`,
    )
    writeFileSync(f('server.san'), `${sans}\n`)
  }
  return {
    caPem: readFileSync(f('ca.crt'), 'utf8'),
    serverCertPem: readFileSync(f('server.crt'), 'utf8'),
    serverKeyPem: readFileSync(f('server.key'), 'utf8'),
    clientCertPem: readFileSync(f('admin.crt'), 'utf8'),
    clientKeyPem: readFileSync(f('admin.key'), 'utf8'),
    token: readFileSync(f('token'), 'utf8').trim(),
  }
}

/** A key and a certificate signed by the CA in `dir`, with the given subject and extensions. */
function issue(dir: string, name: string, subject: string, extensions: string): void {
  openssl(['req', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir)
  writeFileSync(join(dir, `${name}.ext`), extensions)
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      DAYS,
      '-extfile',
      `${name}.ext`,
    ],
    dir,
  )
}
