import { describe, expect, it } from 'vitest'
import { digestOf } from '../build/oci-image.js'
import { entryPath } from './unpack.js'
import { isDigest, manifestDigest } from './verify.js'

const bytes = Buffer.from('{"schemaVersion":2}')
const good = digestOf(bytes)

describe('isDigest', () => {
  it.each([
    [good, true],
    [`sha512:${'a'.repeat(128)}`, true],
    ['../../../tmp/x', false],
    [`sha256:${'A'.repeat(64)}`, false],
    [`sha256:${'a'.repeat(63)}`, false],
    [`sha256:${'a'.repeat(64)}/../x`, false],
    [undefined, false],
  ])('%s → %s', (d, ok) => expect(isDigest(d)).toBe(ok))
})

describe('manifestDigest', () => {
  it.each([
    ['asked and matching', { asked: good }, good],
    ['header and matching', { header: good }, good],
    ['neither: the bytes decide', {}, good],
    ['asked wins over a lying header', { asked: good, header: digestOf(Buffer.from('x')) }, good],
  ])('%s', (_, o, want) => expect(manifestDigest(bytes, o)).toBe(want))
  it.each([
    ['asked, other bytes', { asked: digestOf(Buffer.from('x')) }, /mismatch/],
    ['header, other bytes', { header: digestOf(Buffer.from('x')) }, /mismatch/],
    ['header climbing', { header: '../../etc' }, /invalid digest/],
  ])('%s → throws', (_, o, err) => expect(() => manifestDigest(bytes, o)).toThrow(err))
})

describe('entryPath', () => {
  it.each([
    ['./usr/bin/app', 'usr/bin/app'],
    ['../../etc/passwd', 'etc/passwd'],
    ['/abs//x/', 'abs/x'],
    ['a/../../b', 'b'],
    ['/', ''],
  ])('%s → %s', (n, want) => expect(entryPath(n)).toBe(want))
})
