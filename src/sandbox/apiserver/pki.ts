import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface Pki {
  caPem: string
  serverCertPem: string
  serverKeyPem: string
  clientCertPem: string
  clientKeyPem: string
  token: string
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
}

/**
 * The sandbox's CA, server certificate (127.0.0.1, localhost), admin client certificate
 * (CN=admin, O=system:masters) and bearer token, made with the openssl CLI once and reused,
 * so kubeconfigs stay valid across restarts. Keys and the token are written 0600.
 */
export function ensurePki(dir: string): Pki {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const f = (n: string) => join(dir, n)
  if (!existsSync(f('ca.crt'))) {
    const days = '3650'
    openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        'ca.key',
        '-out',
        'ca.crt',
        '-days',
        days,
        '-subj',
        '/CN=edgecanary-sandbox-ca',
      ],
      dir,
    )
    openssl(
      [
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        'server.key',
        '-out',
        'server.csr',
        '-subj',
        '/CN=edgecanary-sandbox-apiserver',
      ],
      dir,
    )
    writeFileSync(
      f('server.ext'),
      'subjectAltName=IP:127.0.0.1,DNS:localhost,IP:::1\nextendedKeyUsage=serverAuth\n',
    )
    openssl(
      [
        'x509',
        '-req',
        '-in',
        'server.csr',
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        'server.crt',
        '-days',
        days,
        '-extfile',
        'server.ext',
      ],
      dir,
    )
    openssl(
      [
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        'admin.key',
        '-out',
        'admin.csr',
        '-subj',
        '/O=system:masters/CN=admin',
      ],
      dir,
    )
    writeFileSync(f('admin.ext'), 'extendedKeyUsage=clientAuth\n')
    openssl(
      [
        'x509',
        '-req',
        '-in',
        'admin.csr',
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        'admin.crt',
        '-days',
        days,
        '-extfile',
        'admin.ext',
      ],
      dir,
    )
    writeFileSync(f('token'), randomBytes(24).toString('hex'), { mode: 0o600 })
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
