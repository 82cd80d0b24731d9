import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ensurePki, subjectAltNames } from './pki.js'

describe('subjectAltNames', () => {
  const defaults = 'IP:127.0.0.1,DNS:localhost,IP:::1'
  it.each([
    // extra, subjectAltName
    [[], defaults],
    [['127.0.0.1'], defaults],
    [['0.0.0.0'], defaults],
    [['10.0.0.2'], `${defaults},IP:10.0.0.2`],
    [['10.0.0.2', 'Pi-A.local', '10.0.0.2'], `${defaults},IP:10.0.0.2,DNS:pi-a.local`],
    [['fd00::2'], `${defaults},IP:fd00::2`],
  ])('%j → %s', (extra, want) => {
    expect(subjectAltNames(extra)).toBe(want)
  })

  it('refuses what is neither an IP nor a DNS name', () => {
    expect(() => subjectAltNames(['a b'])).toThrow(/neither an IP address nor a DNS name/)
  })
})

describe('ensurePki', () => {
  const sansOf = (pem: string) =>
    execFileSync('openssl', ['x509', '-noout', '-ext', 'subjectAltName'], { input: pem, encoding: 'utf8' })

  it('issues the server certificate again, from the same CA, when the SANs change', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ec-pki-'))
    try {
      const first = ensurePki(dir)
      expect(sansOf(first.serverCertPem)).not.toContain('10.0.0.2')
      const same = ensurePki(dir, ['127.0.0.1'])
      expect(same.serverCertPem).toBe(first.serverCertPem)
      const wider = ensurePki(dir, ['10.0.0.2'])
      expect(sansOf(wider.serverCertPem)).toContain('IP Address:10.0.0.2')
      expect(wider.caPem).toBe(first.caPem)
      expect(wider.clientCertPem).toBe(first.clientCertPem)
      expect(wider.token).toBe(first.token)
      const narrow = ensurePki(dir)
      expect(sansOf(narrow.serverCertPem)).not.toContain('10.0.0.2')
      // a pki made before server.san existed had exactly the defaults: kept as it is
      unlinkSync(join(dir, 'server.san'))
      expect(ensurePki(dir).serverCertPem).toBe(narrow.serverCertPem)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
