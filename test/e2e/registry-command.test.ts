import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { imageFromLayer, MEDIA, tarLayer } from '../../src/build/oci-image.js'
import { isAlive } from '../../src/daemon.js'
import { RegistryClient } from '../../src/registry/client.js'
import { runCli } from '../helpers/cli.js'
import { freePort } from '../helpers/ports.js'

const run = promisify(execFile)

interface UpJson {
  pid: number
  address: string
  port: number
  host: string
  url: string
  dataDir: string
  alreadyRunning: boolean
}

/** True when `host:port` can be bound again, i.e. nothing listens there any more. */
function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(false))
    s.listen(port, host, () => s.close(() => resolve(true)))
  })
}

// `edgecanary registry up|status|down`: the embedded registry served in the background on a
// given address (here 127.0.0.2, standing in for the laptop's LAN address), pushed to with
// the registry client and read with skopeo, stopped by PID.
describe('edgecanary registry up|status|down', () => {
  const address = '127.0.0.2'
  let home: string
  let port: number
  const pids = new Set<number>()
  const cli = async (...args: string[]) => {
    const r = await runCli(args, { env: { ...process.env, EDGECANARY_HOME: home }, timeoutMs: 30_000 })
    return {
      ...r,
      json: args.includes('--json') ? (JSON.parse(r.stdout) as UpJson & { running?: boolean }) : undefined,
    }
  }

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'ec-registry-'))
    port = await freePort()
  })
  afterAll(async () => {
    await cli('registry', 'down')
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL')
    rmSync(home, { recursive: true, force: true })
  })

  it('has help with examples', async () => {
    const r = await cli('registry', 'up', '--help')
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('--address')
    expect(r.stdout).toContain('EXAMPLES')
  })

  it('starts in the background on the address and port, and reports them', async () => {
    const up = await cli('registry', 'up', `--address=${address}`, `--port=${port}`, '--json')
    expect(up.status).toBe(0)
    const j = up.json as UpJson
    pids.add(j.pid)
    expect(j).toMatchObject({
      address,
      port,
      host: `${address}:${port}`,
      url: `http://${address}:${port}`,
      dataDir: join(home, 'registry', 'data'),
      alreadyRunning: false,
    })
    expect(isAlive(j.pid)).toBe(true)
    const res = await fetch(`http://${address}:${port}/v2/`)
    expect(res.status).toBe(200)
    const st = await cli('registry', 'status', '--json')
    expect(st.json).toMatchObject({ running: true, pid: j.pid, address, port })
  })

  it('takes a push over plain HTTP that skopeo then reads', async () => {
    const tar = await tarLayer([{ path: 'hello.txt', mode: 0o644, data: Buffer.from('hello\n') }])
    const img = imageFromLayer(tar, {
      platform: { os: 'linux', architecture: 'arm64' },
      entrypoint: '/hello',
      port: 8080,
      version: '1.0',
    })
    const client = new RegistryClient({ registry: `${address}:${port}`, repository: 'hello', insecure: true })
    for (const b of [img.layer, img.config]) await client.uploadBlob(b.digest, b.bytes)
    await client.putManifest('1.0', MEDIA.manifest, img.manifest.bytes)
    const { stdout } = await run('skopeo', [
      'inspect',
      '--tls-verify=false',
      '--raw',
      `docker://${address}:${port}/hello:1.0`,
    ])
    expect(JSON.parse(stdout)).toMatchObject({ config: { digest: img.config.digest } })
  })

  it('is a no-op when already running, and refuses another port while it runs', async () => {
    const before = (await cli('registry', 'status', '--json')).json
    const again = await cli('registry', 'up', '--json')
    expect(again.status).toBe(0)
    expect(again.json).toMatchObject({ pid: before?.pid, address, port, alreadyRunning: true })
    const other = await cli('registry', 'up', `--port=${port + 1}`, '--json')
    expect(other.status).toBe(2)
    expect(other.stdout).toContain('already runs')
  })

  it('stops by PID: the port is free and no process is left', async () => {
    const pid = (await cli('registry', 'status', '--json')).json?.pid ?? 0
    const down = await cli('registry', 'down', '--json')
    expect(down.status).toBe(0)
    expect(down.json).toMatchObject({ stopped: true, pid })
    expect(isAlive(pid)).toBe(false)
    expect(await canBind(address, port)).toBe(true)
    expect((await cli('registry', 'status', '--json')).json).toMatchObject({ running: false })
    const twice = await cli('registry', 'down', '--json')
    expect(twice.json).toMatchObject({ stopped: false })
  })

  it('comes back on the same port with the images kept', async () => {
    const up = await cli('registry', 'up', `--address=${address}`, '--json')
    expect(up.status).toBe(0)
    pids.add(up.json?.pid ?? 0)
    expect(up.json).toMatchObject({ port, alreadyRunning: false })
    const { stdout } = await run('skopeo', [
      'list-tags',
      '--tls-verify=false',
      `docker://${address}:${port}/hello`,
    ])
    expect(JSON.parse(stdout)).toMatchObject({ Tags: ['1.0'] })
    expect((await cli('registry', 'down', '--json')).json).toMatchObject({ stopped: true })
  })

  it('says so when the port is taken (exit 2)', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(port, address, () => resolve()))
    try {
      const up = await cli('registry', 'up', `--address=${address}`, '--json')
      expect(up.status).toBe(2)
      expect(up.stdout).toContain(`port ${port} on ${address} is in use`)
    } finally {
      await new Promise((r) => blocker.close(r))
    }
  })
})
