import { describe, expect, it } from 'vitest'
import {
  parseGoDuration,
  queryBool,
  queryDryRun,
  queryIncludeObject,
  queryInt,
  queryTimeout,
} from './params.js'

const q = (s: string) => new URLSearchParams(s)

describe('query parameters as apimachinery parses them', () => {
  it.each([
    ['watch=true', true],
    ['watch=True', true],
    ['watch=1', true],
    ['watch=', true],
    ['watch=yes', true],
    ['watch=false', false],
    ['watch=FALSE', false],
    ['watch=0', false],
    ['', false],
  ])('bool %s → %s', (text, want) => expect(queryBool(q(text), 'watch')).toBe(want))

  it('reads integers and refuses what strconv.ParseInt refuses', () => {
    expect(queryInt(q('timeoutSeconds=30'), 'timeoutSeconds')).toBe(30)
    expect(queryInt(q('timeoutSeconds=-5'), 'timeoutSeconds')).toBe(-5)
    expect(queryInt(q(''), 'timeoutSeconds')).toBeUndefined()
    expect(() => queryInt(q('limit=1.5'), 'limit')).toThrow('strconv.ParseInt: parsing "1.5": invalid syntax')
    expect(() => queryInt(q('limit=99999999999999999999'), 'limit')).toThrow('value out of range')
  })

  it.each([
    ['5s', 5000],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['300ms', 300],
    ['0', 0],
    ['-2s', -2000],
    ['5', undefined],
    ['s', undefined],
    ['5x', undefined],
    ['', undefined],
  ])('duration %s → %s', (text, ms) => expect(parseGoDuration(text)).toBe(ms))

  it('refuses a bad timeout, dryRun or includeObject with a 400', () => {
    expect(queryTimeout(q('timeout=32s'))).toBe(32_000)
    expect(() => queryTimeout(q('timeout=soon'))).toThrow('invalid timeout specified in the request URL')
    expect(queryDryRun(q('dryRun=All'))).toBe(true)
    expect(queryDryRun(q(''))).toBe(false)
    expect(() => queryDryRun(q('dryRun=true'))).toThrow(/Invalid dryRun value/)
    expect(queryIncludeObject(q('includeObject=Object'))).toBe('Object')
    expect(queryIncludeObject(q(''))).toBe('Metadata')
    expect(() => queryIncludeObject(q('includeObject=all'))).toThrow(/Unsupported value/)
  })
})
