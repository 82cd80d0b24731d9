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

const DAYS = '3650'

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
    const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
    openssl(
      [
        'req',
        '-x509',
        ...key,
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
    /** A key and a certificate signed by the CA, with the given subject and extensions. */
    const issue = (name: string, subject: string, extensions: string) => {
      openssl(['req', ...key, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir)
      writeFileSync(f(`${name}.ext`), extensions)
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
    issue(
      'server',
      '/CN=edgecanary-sandbox-apiserver',
      'subjectAltName=IP:127.0.0.1,DNS:localhost,IP:::1\nextendedKeyUsage=serverAuth\n',
    )
    issue('admin', '/O=system:masters/CN=admin', 'extendedKeyUsage=clientAuth\n')
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
