import { describe, expect, it } from 'vitest'
import { formatImageRef, imageTag, isLoopbackRegistry, isValidTag, parseImageRef } from './reference.js'

const D = `sha256:${'a'.repeat(64)}`

describe('parseImageRef', () => {
  it.each([
    ['127.0.0.1:5000/kubeapp:2.0', { registry: '127.0.0.1:5000', repository: 'kubeapp', tag: '2.0' }],
    [`reg.lan/team/app@${D}`, { registry: 'reg.lan', repository: 'team/app', digest: D }],
    [`localhost/app:1.0@${D}`, { registry: 'localhost', repository: 'app', tag: '1.0', digest: D }],
    ['nginx', { registry: 'docker.io', repository: 'library/nginx', tag: 'latest' }],
    ['user/app:v1', { registry: 'docker.io', repository: 'user/app', tag: 'v1' }],
  ])('%s', (ref, expected) => {
    expect(parseImageRef(ref)).toEqual(expected)
  })

  it.each([
    ['', 'empty'],
    ['reg:5000/App:1', 'repository'],
    ['reg:5000/app:2.0 beta', 'tag'],
    ['reg:5000/app@sha256:xyz', 'digest'],
  ])('rejects %j with a reason naming %s', (ref, word) => {
    expect(() => parseImageRef(ref)).toThrow(word)
  })

  it('round-trips through formatImageRef', () => {
    const ref = `127.0.0.1:5000/kubeapp:2.0@${D}`
    expect(formatImageRef(parseImageRef(ref))).toBe(ref)
  })
})

describe('isValidTag', () => {
  it.each([
    ['2.0', true],
    ['2.0.1-rc_1', true],
    ['_x', true],
    ['.x', false],
    ['-x', false],
    ['2.0 beta', false],
    ['a'.repeat(128), true],
    ['a'.repeat(129), false],
  ])('%s → %s', (tag, ok) => expect(isValidTag(tag)).toBe(ok))
})

describe('isLoopbackRegistry', () => {
  it.each([
    ['127.0.0.1:5000', true],
    ['127.3.4.5', true],
    ['localhost:5000', true],
    ['[::1]:5000', true],
    ['registry.lan:5000', false],
    ['10.0.0.10:5000', false],
  ])('%s → %s', (r, ok) => expect(isLoopbackRegistry(r)).toBe(ok))
})

describe('imageTag', () => {
  const D = `sha256:${'a'.repeat(64)}`
  it.each([
    [`127.0.0.1:5000/kubeapp:2.0@${D}`, '2.0'],
    [`127.0.0.1:5000/kubeapp@${D}`, undefined],
    ['127.0.0.1:5000/kubeapp', undefined],
    ['localhost:5000/team/kubeapp:1.0.1-rc_1', '1.0.1-rc_1'],
    ['nginx', undefined],
    ['nginx:1.27', '1.27'],
    ['not a ref', undefined],
  ])('%s → %s', (ref, tag) => expect(imageTag(ref)).toBe(tag))
})
