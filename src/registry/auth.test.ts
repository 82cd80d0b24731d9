import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  credentialSource,
  credentialsFromDockerConfig,
  dockerConfigCredentials,
  parseChallenge,
  parseHelperAnswer,
} from './auth.js'

describe('parseChallenge', () => {
  it.each([
    // header, expected
    [
      'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:app:push,pull"',
      {
        scheme: 'bearer',
        realm: 'https://auth.example/token',
        service: 'registry.example',
        scope: 'repository:app:push,pull',
      },
    ],
    // Docker Hub's shape, without scope
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"',
      { scheme: 'bearer', realm: 'https://auth.docker.io/token', service: 'registry.docker.io' },
    ],
    // scheme and parameter names are case-insensitive; spaces after commas are allowed
    [
      'BEARER Realm="http://127.0.0.1:9/t", Service="reg"',
      { scheme: 'bearer', realm: 'http://127.0.0.1:9/t', service: 'reg' },
    ],
    // unquoted token values
    ['Bearer realm=http://a/t,service=reg', { scheme: 'bearer', realm: 'http://a/t', service: 'reg' }],
    // extra parameters (error=insufficient_scope) are ignored
    [
      'Bearer realm="http://a/t",service="reg",scope="repository:x:pull",error="insufficient_scope"',
      { scheme: 'bearer', realm: 'http://a/t', service: 'reg', scope: 'repository:x:pull' },
    ],
    // a quoted-pair inside a quoted string stands for the character itself (RFC 7235)
    ['Basic realm="the \\"lab\\" registry"', { scheme: 'basic', realm: 'the "lab" registry' }],
    ['Basic realm="Registry Realm"', { scheme: 'basic', realm: 'Registry Realm' }],
    ['basic', { scheme: 'basic' }],
  ])('%s', (header, expected) => {
    expect(parseChallenge(header)).toEqual(expected)
  })

  it.each([
    ['', 'empty'],
    ['Bearer service="reg"', 'Bearer without realm (nowhere to get a token)'],
    ['Digest realm="r",nonce="n"', 'a scheme registries do not use'],
  ])('%j → undefined (%s)', (header) => {
    expect(parseChallenge(header)).toBeUndefined()
  })
})

const b64 = (s: string) => Buffer.from(s).toString('base64')

describe('credentialsFromDockerConfig', () => {
  it.each([
    // doc, registry, expected
    [{ auths: { 'r:5000': { auth: b64('u:p') } } }, 'r:5000', { username: 'u', password: 'p' }],
    // the password keeps every colon after the first
    [{ auths: { 'r:5000': { auth: b64('ci:a:b:c') } } }, 'r:5000', { username: 'ci', password: 'a:b:c' }],
    // docker login writes keys with a scheme, sometimes with /v1/
    [{ auths: { 'https://reg.lan': { auth: b64('a:b') } } }, 'reg.lan', { username: 'a', password: 'b' }],
    [
      { auths: { 'http://reg.lan:5000': { auth: b64('a:b') } } },
      'reg.lan:5000',
      { username: 'a', password: 'b' },
    ],
    [{ auths: { 'https://reg.lan/v1/': { auth: b64('a:b') } } }, 'reg.lan', { username: 'a', password: 'b' }],
    // Docker Hub is stored under its legacy index address
    [
      { auths: { 'https://index.docker.io/v1/': { auth: b64('hub:tok') } } },
      'docker.io',
      { username: 'hub', password: 'tok' },
    ],
    // username/password fields instead of auth
    [
      { auths: { 'r:5000': { username: 'u2', password: 'p2' } } },
      'r:5000',
      { username: 'u2', password: 'p2' },
    ],
    // an auth without a colon is unusable; the explicit fields still count
    [
      { auths: { 'r:5000': { auth: b64('nocolon'), username: 'u3', password: 'p3' } } },
      'r:5000',
      { username: 'u3', password: 'p3' },
    ],
    // the exact host wins over a scheme-prefixed key
    [
      { auths: { 'https://r:5000': { auth: b64('second:x') }, 'r:5000': { auth: b64('first:y') } } },
      'r:5000',
      { username: 'first', password: 'y' },
    ],
  ])('%j for %s', (doc, registry, expected) => {
    expect(credentialsFromDockerConfig(doc, registry)).toEqual(expected)
  })

  it.each([
    [{ auths: { 'other:5000': { auth: b64('u:p') } } }, 'r:5000'],
    // same host, other port: not the same registry
    [{ auths: { 'r:5001': { auth: b64('u:p') } } }, 'r:5000'],
    [{ auths: { 'r:5000': { auth: b64('nocolon') } } }, 'r:5000'],
    [{ auths: { 'r:5000': { username: 'u' } } }, 'r:5000'],
    [{ credsStore: 'desktop' }, 'r:5000'],
    [{}, 'r:5000'],
    [null, 'r:5000'],
    ['not an object', 'r:5000'],
  ])('%j for %s → undefined', (doc, registry) => {
    expect(credentialsFromDockerConfig(doc, registry)).toBeUndefined()
  })
})

describe('dockerConfigCredentials', () => {
  it.each([
    // config.json content, expected
    [JSON.stringify({ auths: { 'r:5000': { auth: b64('file:pw') } } }), { username: 'file', password: 'pw' }],
    ['{ not json', undefined],
    [undefined, undefined],
  ])('reads $DOCKER_CONFIG/config.json %j', (content, expected) => {
    const dir = mkdtempSync(join(tmpdir(), 'ec-dockercfg-'))
    try {
      if (content !== undefined) writeFileSync(join(dir, 'config.json'), content)
      expect(dockerConfigCredentials('r:5000', { DOCKER_CONFIG: dir })).toEqual(expected)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('falls back to $HOME/.docker/config.json', () => {
    const home = mkdtempSync(join(tmpdir(), 'ec-dockerhome-'))
    try {
      const dir = join(home, '.docker')
      mkdirSync(dir)
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { 'r:5000': { auth: b64('h:q') } } }))
      expect(dockerConfigCredentials('r:5000', { HOME: home })).toEqual({ username: 'h', password: 'q' })
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })
})

describe('credentialSource (where docker looks)', () => {
  it.each([
    // config, registry, expected
    [
      { credHelpers: { 'r:5000': 'pass' }, credsStore: 'desktop' },
      'r:5000',
      { kind: 'helper', helper: 'pass', via: 'credHelpers' },
    ],
    [
      { credHelpers: { 'other:1': 'pass' }, credsStore: 'desktop' },
      'r:5000',
      { kind: 'helper', helper: 'desktop', via: 'credsStore' },
    ],
    [{ credsStore: 'desktop' }, 'docker.io', { kind: 'helper', serverUrl: 'https://index.docker.io/v1/' }],
    [
      { credsStore: '', auths: { 'r:5000': { auth: 'dTpw' } } },
      'r:5000',
      { kind: 'file', credentials: { username: 'u', password: 'p' } },
    ],
    [
      { auths: { 'r:5000': { identitytoken: 'rt' } } },
      'r:5000',
      { kind: 'file', credentials: { username: '<token>', password: '', identityToken: 'rt' } },
    ],
    [{}, 'r:5000', { kind: 'file', credentials: undefined }],
  ])('%j for %s', (doc, registry, expected) => {
    expect(credentialSource(doc, registry)).toMatchObject(expected)
  })
})

describe('parseHelperAnswer (docker-credential-helpers protocol)', () => {
  it.each([
    // exit code, stdout, expected
    [
      0,
      '{"ServerURL":"r","Username":"ci","Secret":"pw"}',
      { credentials: { username: 'ci', password: 'pw' } },
    ],
    [
      0,
      '{"Username":"<token>","Secret":"rt"}',
      { credentials: { username: '<token>', password: '', identityToken: 'rt' } },
    ],
    [1, 'credentials not found in native keychain\n', { notFound: true }],
    [1, 'error getting credentials', { invalid: 'exit code 1' }],
    [0, 'not json', { invalid: 'its answer is not JSON' }],
    [0, '{"Username":"ci"}', { invalid: 'its answer has no string Username and Secret' }],
  ])('exit %i, %j', (code, stdout, expected) => {
    expect(parseHelperAnswer(code, stdout)).toEqual(expected)
  })
})
