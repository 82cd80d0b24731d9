import { describe, expect, it } from 'vitest'
import { shortCommit, versionLines } from './version-report.js'

const client = { version: '0.1.0', commit: 'abc1234', node: 'v20.20.2', platform: 'linux/x64' }

describe('versionLines', () => {
  it.each([
    [
      'client and server',
      {
        client,
        server: {
          gitVersion: 'v1.32.0+k3s1',
          platform: 'linux/arm64',
          where: 'context pi (https://10.0.0.2:6443)',
        },
      },
      [
        'Client Version: 0.1.0 (commit abc1234, node v20.20.2, linux/x64)',
        'Server Version: v1.32.0+k3s1 (linux/arm64) at context pi (https://10.0.0.2:6443)',
      ],
    ],
    [
      'server without platform',
      { client, server: { gitVersion: 'v1.30.1', where: 'context default (https://127.0.0.1:6443)' } },
      [
        'Client Version: 0.1.0 (commit abc1234, node v20.20.2, linux/x64)',
        'Server Version: v1.30.1 at context default (https://127.0.0.1:6443)',
      ],
    ],
    [
      'unreachable server',
      { client, serverError: 'ECONNREFUSED' },
      [
        'Client Version: 0.1.0 (commit abc1234, node v20.20.2, linux/x64)',
        'Server Version: unknown (ECONNREFUSED)',
      ],
    ],
    ['client only', { client }, ['Client Version: 0.1.0 (commit abc1234, node v20.20.2, linux/x64)']],
  ])('%s', (_name, report, lines) => {
    expect(versionLines(report)).toEqual(lines)
  })
})

describe('shortCommit', () => {
  it.each([
    ['87e3226a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e', '87e3226a0b1c'],
    ['87e3226a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e-dirty', '87e3226a0b1c-dirty'],
    ['87e3226', '87e3226'],
    ['', 'unknown'],
    [undefined, 'unknown'],
    ['not-a-commit', 'unknown'],
  ])('shortCommit(%s) = %s', (input, out) => {
    expect(shortCommit(input)).toBe(out)
  })
})
