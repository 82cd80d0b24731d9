import { describe, expect, it } from 'vitest'
import { execRequest, terminalSize } from './pod-exec.js'

describe('execRequest', () => {
  const url = (q: string) => new URL(`https://x/api/v1/namespaces/default/pods/p1/exec?command=cat&${q}`)
  it.each([
    // kubectl sends true, the Python client True: apimachinery reads both (and 1, T…) as true
    ['stdin=true&tty=true', true, true],
    ['stdin=True&tty=False', true, false],
    ['stdin=1&tty=0', true, false],
    ['stdin=false', false, false],
    ['', false, false],
  ])('%s → stdin %s, tty %s', (q, stdin, tty) => {
    expect(execRequest(url(q))).toMatchObject({
      namespace: 'default',
      pod: 'p1',
      command: ['cat'],
      stdin,
      tty,
    })
  })

  it('is not an exec request for another path', () => {
    expect(execRequest(new URL('https://x/api/v1/namespaces/default/pods/p1/log'))).toBeUndefined()
  })
})

describe('terminalSize (the exec resize channel)', () => {
  it.each([
    ['{"Width":120,"Height":40}', { width: 120, height: 40 }],
    ['{"Width":80,"Height":24,"Extra":1}', { width: 80, height: 24 }],
    ['{"Width":-1,"Height":24}', undefined],
    ['{"Width":80}', undefined],
    ['{"Width":1.5,"Height":2}', undefined],
    ['not json', undefined],
  ])('%s → %j', (text, want) => expect(terminalSize(Buffer.from(text))).toEqual(want))
})
