import { execFile, execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type EmbeddedRegistry, startRegistry } from '../../src/registry/server.js'

const run = promisify(execFile)

// The embedded registry served on a LAN-like address (a veth to a network namespace of the
// test's own, 198.19.k.0/30): a client inside that namespace is another machine, whose pushes
// need the push token while its pulls do not. Network namespaces need root, as CI runs.
describe('embedded registry: pushes from anything but loopback need the token', () => {
  const k = randomBytes(1)[0]
  const ns = `ecreg${process.pid}`
  const veth = `ecr${process.pid % 100000}`
  const hostIp = `198.19.${k}.1`
  const dir = mkdtempSync(join(tmpdir(), 'ec-regtok-'))
  const token = randomBytes(16).toString('hex')
  let reg: EmbeddedRegistry
  const ip = (...a: string[]) => execFileSync('ip', a, { stdio: ['ignore', 'ignore', 'pipe'] })

  beforeAll(async () => {
    ip('netns', 'add', ns)
    ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
    ip('addr', 'add', `${hostIp}/30`, 'dev', veth)
    ip('link', 'set', veth, 'up')
    ip('-n', ns, 'link', 'set', 'lo', 'up')
    ip('-n', ns, 'addr', 'add', `198.19.${k}.2/30`, 'dev', 'eth0')
    ip('-n', ns, 'link', 'set', 'eth0', 'up')
    reg = await startRegistry({ dir, host: hostIp, pushToken: token })
  })
  afterAll(async () => {
    await reg?.close()
    spawnSync('ip', ['netns', 'del', ns])
    spawnSync('ip', ['link', 'del', veth])
    rmSync(dir, { recursive: true, force: true })
  })

  /**
   * The HTTP status curl gets from inside the namespace, where the registry sees the namespace's
   * address, not loopback (asynchronous: the registry answers from this process).
   */
  const remote = async (...args: string[]): Promise<string> => {
    const r = await run(
      'ip',
      ['netns', 'exec', ns, 'curl', '--noproxy', '*', '-s', '-i', '--max-time', '10', ...args],
      {
        encoding: 'utf8',
      },
    ).catch((e: { stdout?: string; stderr?: string }) => ({ stdout: `${e.stdout ?? ''} ${e.stderr ?? ''}` }))
    return /^HTTP\/1\.1 (\d{3})/.exec(r.stdout)?.[1] ?? r.stdout
  }

  it('takes a pull from another machine, refuses its push without the token (401) and takes it with it', async () => {
    const base = `http://${hostIp}:${reg.port}`
    expect(await remote(`${base}/v2/`)).toBe('200')
    expect(await remote('-X', 'POST', `${base}/v2/app/blobs/uploads/`)).toBe('401')
    expect(
      await remote('-X', 'POST', '-H', 'Authorization: Bearer wrong', `${base}/v2/app/blobs/uploads/`),
    ).toBe('401')
    expect(
      await remote('-X', 'POST', '-H', `Authorization: Bearer ${token}`, `${base}/v2/app/blobs/uploads/`),
    ).toBe('202')
    expect(await remote('-X', 'POST', '-u', `me:${token}`, `${base}/v2/app/blobs/uploads/`)).toBe('202')
  })
})
