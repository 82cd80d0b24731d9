import { describe, expect, it } from 'vitest'
import { pinImageRef } from './resolve.js'

const d = `sha256:${'a'.repeat(64)}`
const e = `sha256:${'b'.repeat(64)}`

describe('pinImageRef', () => {
  it.each([
    // reference, digest, pinned
    ['127.0.0.1:5000/kubeapp:2.0', d, `127.0.0.1:5000/kubeapp:2.0@${d}`],
    ['registry.lan:5000/team/app:1.0', d, `registry.lan:5000/team/app:1.0@${d}`],
    [`127.0.0.1:5000/kubeapp:2.0@${e}`, d, `127.0.0.1:5000/kubeapp:2.0@${e}`],
    ['127.0.0.1:5000/kubeapp', d, `127.0.0.1:5000/kubeapp:latest@${d}`],
  ])('pinImageRef(%s) → %s', (ref, digest, pinned) => {
    expect(pinImageRef(ref, digest)).toBe(pinned)
  })
})
