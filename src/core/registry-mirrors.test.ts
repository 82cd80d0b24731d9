import { describe, expect, it } from 'vitest'
import { ConfigError } from '../errors.js'
import { normalizeImage, parseRegistries, pullEndpoints, rewriteRepository } from './registry-mirrors.js'

const cfg = (yaml: string) => parseRegistries(yaml, 'registries.yaml')
const hops = (ref: string, yaml: string, embedded = '127.0.0.1:5000') =>
  pullEndpoints(ref, cfg(yaml), embedded).map(
    (e) =>
      `${e.scheme}://${e.host}/${e.repository}:${e.reference}${e.credentials ? ` as ${e.credentials.username}` : ''}`,
  )

describe('image names as containerd normalises them', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['rancher/k3s:v1.32', 'docker.io/rancher/k3s:v1.32'],
    ['docker.io/library/nginx', 'docker.io/library/nginx:latest'],
    ['127.0.0.1:5000/app:2.0', '127.0.0.1:5000/app:2.0'],
    ['localhost/app', 'localhost/app:latest'],
  ])('normalizeImage(%j) = %j', (ref, out) => expect(normalizeImage(ref)).toBe(out))
})

describe('pull endpoints from a k3s registries.yaml (docs.k3s.io installation/private-registry)', () => {
  it.each([
    [
      'no mirror: the registry itself',
      'busybox',
      'mirrors: {}',
      ['https://registry-1.docker.io/library/busybox:latest'],
    ],
    [
      'mirror endpoints in order, then the default endpoint last',
      'busybox',
      'mirrors:\n  docker.io:\n    endpoint: ["http://10.0.0.5:5000", "https://mirror.lan"]\n',
      [
        'http://10.0.0.5:5000/library/busybox:latest',
        'https://mirror.lan/library/busybox:latest',
        'https://registry-1.docker.io/library/busybox:latest',
      ],
    ],
    [
      'a mirror without endpoints is the embedded registry',
      'busybox',
      'mirrors:\n  docker.io: {}\n',
      ['http://127.0.0.1:5000/library/busybox:latest', 'https://registry-1.docker.io/library/busybox:latest'],
    ],
    [
      'a bare host endpoint is https',
      'reg.lan/team/app:1',
      'mirrors:\n  reg.lan:\n    endpoint: ["cache.lan:5000"]\n',
      ['https://cache.lan:5000/team/app:1', 'https://reg.lan/team/app:1'],
    ],
    [
      'rewrite applies to mirror endpoints, not the default one',
      'rancher/k3s:v1',
      'mirrors:\n  docker.io:\n    endpoint: ["https://mirror.lan"]\n    rewrite:\n      "^rancher/(.*)": "mirrorproject/rancher-images/$1"\n',
      [
        'https://mirror.lan/mirrorproject/rancher-images/k3s:v1',
        'https://registry-1.docker.io/rancher/k3s:v1',
      ],
    ],
    [
      'the "*" mirror covers registries not listed',
      'quay.io/x/y@sha256:' + 'a'.repeat(64),
      'mirrors:\n  "*":\n    endpoint: ["http://10.0.0.5:5000"]\n',
      [`http://10.0.0.5:5000/x/y:sha256:${'a'.repeat(64)}`, `https://quay.io/x/y:sha256:${'a'.repeat(64)}`],
    ],
    [
      'auth by endpoint host, user:pass or base64 auth',
      'busybox',
      'mirrors:\n  docker.io:\n    endpoint: ["https://mirror.lan"]\nconfigs:\n  mirror.lan:\n    auth: { auth: "' +
        Buffer.from('bob:s3cret').toString('base64') +
        '" }\n  registry-1.docker.io:\n    auth: { username: hub, password: p }\n',
      [
        'https://mirror.lan/library/busybox:latest as bob',
        'https://registry-1.docker.io/library/busybox:latest as hub',
      ],
    ],
  ])('%s', (_name, ref, yaml, out) => expect(hops(ref, yaml)).toEqual(out))

  it('carries the tls settings of the endpoint host', () => {
    const [e] = pullEndpoints(
      'busybox',
      cfg(
        'mirrors:\n  docker.io:\n    endpoint: ["https://mirror.lan"]\nconfigs:\n  mirror.lan:\n    tls: { ca_file: /etc/ca.crt, insecure_skip_verify: false }\n',
      ),
    )
    expect(e.tls).toEqual({ caFile: '/etc/ca.crt', insecureSkipVerify: false })
  })

  it.each([
    ['library/busybox', [['^library/(.*)', 'mirror/$1']], 'mirror/busybox'],
    [
      'library/busybox',
      [
        ['^other/(.*)', 'x/$1'],
        ['busy', 'lazy'],
      ],
      'library/lazybox',
    ],
    ['library/busybox', [['^library/(.*)', 'UPPER/$1']], 'library/busybox'],
  ] as [string, [string, string][], string][])('rewriteRepository(%j, %j) = %j', (repo, rules, out) =>
    expect(rewriteRepository(repo, rules)).toBe(out),
  )
})

describe('bad registries.yaml: one line that names the problem', () => {
  it.each([
    ['mirrors: [a]', 'mirrors must be a map'],
    ['mirror: {}', 'unknown key "mirror"'],
    ['mirrors:\n  docker.io:\n    endpoint: "http://x"\n', 'must be a list of URLs'],
    ['mirrors:\n  docker.io:\n    endpoint: ["ftp://x"]\n', 'the scheme must be http or https'],
    ['mirrors:\n  docker.io:\n    endpoint: ["https://u:p@x"]\n', 'credentials belong in configs'],
    ['mirrors:\n  docker.io:\n    rewrite: { "(": "x" }\n', 'not a valid regular expression'],
    ['mirrors:\n  "bad name!": {}\n', 'is not a registry host'],
    ['configs:\n  x.lan:\n    tls: { ca_file: relative.crt }\n', 'must be an absolute path'],
    ['configs:\n  x.lan:\n    tls: { insecure_skip_verify: "yes" }\n', 'must be true or false'],
    ['mirrors: {a: [', 'not valid YAML'],
    [`# ${'x'.repeat(70 * 1024)}`, 'larger than 64 KiB'],
  ])('%j → %s', (yaml, why) => {
    const run = () => cfg(yaml)
    expect(run).toThrow(ConfigError)
    expect(run).toThrow(why)
  })
})
