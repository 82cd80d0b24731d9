import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectShell } from '../../src/adapters/ssh-shell.js'
import type { RemoteShell } from '../../src/ports.js'
import { startHosts, type TestHosts } from '../helpers/netns-hosts.js'
import { waitFor } from '../helpers/ports.js'

const STANDIN = join(import.meta.dirname, '..', 'fixtures', 'k3s-standin')
const passwdBefore = readFileSync('/etc/passwd', 'utf8')

interface Call {
  event: string
  role: string
  argv: string[]
  env: Record<string, string>
  tokenSet: boolean
  user: string
  hostname: string
  code: number
  startedAt: number
  endedAt: number
}

// The harness itself: four fake Pis, each a real sshd in its own namespaces.
describe('netns test hosts (fake Raspberry Pis over real SSH)', () => {
  let t: TestHosts
  const dir = mkdtempSync(join(tmpdir(), 'ec-netns-test-'))
  const known = join(dir, 'known_hosts')
  const shells: RemoteShell[] = []

  const shell = async (i: number, o: { sudoPassword?: string } = {}) => {
    const s = await connectShell({
      host: t.hosts[i].ip,
      user: 'pi',
      keyFiles: [t.clientKeyFile],
      knownHostsFile: known,
      ...o,
    })
    shells.push(s)
    return s
  }
  const calls = async (i: number): Promise<Call[]> => {
    const r = await t.exec(i, 'cat /var/lib/rancher/k3s/standin-calls.log 2>/dev/null || true')
    return r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Call)
  }
  const installStandin = async (s: RemoteShell) => {
    await s.upload(readFileSync(join(STANDIN, 'k3s')), '/usr/local/bin/k3s', 0o755, { sudo: true })
    await s.upload(readFileSync(join(STANDIN, 'install.sh')), '/tmp/k3s-install.sh', 0o644)
  }

  beforeAll(async () => {
    t = await startHosts(4, { sudoPasswordHost: 2, clockSkewS: { 3: 300 } })
    t.writeKnownHosts(known)
  })
  afterAll(async () => {
    for (const s of shells) s.close()
    await t?.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  it('four hosts answer as pi on their own addresses, with distinct hostnames and an arm64 machine', async () => {
    expect(t.laptopIp).toMatch(/^198\.18\.\d+\.1$/)
    expect(t.hosts.map((h) => h.ip)).toEqual([10, 11, 12, 13].map((d) => t.laptopIp.replace(/1$/, String(d))))
    const seen = await Promise.all(
      t.hosts.map(
        async (_, i) => (await (await shell(i)).run('echo $(whoami) $(hostname) $(uname -m)')).stdout,
      ),
    )
    expect(seen).toEqual(['pi pi-a aarch64\n', 'pi pi-b aarch64\n', 'pi pi-c aarch64\n', 'pi pi-d aarch64\n'])
    // hosts reach each other and the laptop address, and nothing else is routed
    const r = await t.exec(
      0,
      `ping -c1 -W2 ${t.hosts[1].ip} >/dev/null && ping -c1 -W2 ${t.laptopIp} >/dev/null; ip route`,
    )
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toBe(`${t.subnet} dev eth0 proto kernel scope link src ${t.hosts[0].ip} `.trim())
  })

  it('sudo: NOPASSWD on the others, a real password on the password host', async () => {
    expect(t.hosts[0].sudoPassword).toBeUndefined()
    expect((await (await shell(0)).run('id -u', { sudo: true })).stdout).toBe('0\n')
    const pw = t.hosts[2].sudoPassword
    expect(pw).toMatch(/^pw-/)
    const without = await (await shell(2)).run('id -u', { sudo: true })
    expect(without.code).not.toBe(0)
    const wrong = await (await shell(2, { sudoPassword: 'nope' })).run('id -u', { sudo: true })
    expect(wrong.code).not.toBe(0)
    const right = await (await shell(2, { sudoPassword: pw })).run('id -u', { sudo: true })
    expect(right).toMatchObject({ stdout: '0\n', code: 0 })
  })

  it('passwd, shadow, sudoers, /boot/firmware are private to each host; the machine keeps its own', async () => {
    expect((await t.exec(0, 'grep ^pi: /etc/passwd')).stdout).toMatch(/^pi:x:4242:4242:.*:\/home\/pi:/)
    expect(readFileSync('/etc/passwd', 'utf8')).toBe(passwdBefore)
    expect(passwdBefore).not.toMatch(/^pi:/m)
    expect(existsSync('/etc/rancher')).toBe(false)
    expect(existsSync('/boot/firmware')).toBe(false)
    expect((await t.exec(1, 'cat /boot/firmware/cmdline.txt')).stdout).toBe(
      'console=serial0,115200 console=tty1 root=PARTUUID=abcd-02 rootfstype=ext4 fsck.repair=yes rootwait\n',
    )
    await t.exec(
      1,
      'echo marker > /etc/rancher/m; echo marker > /var/lib/rancher/m; sed -i "s/$/ x=1/" /boot/firmware/cmdline.txt',
    )
    const other = await t.exec(0, 'ls /etc/rancher/m /var/lib/rancher/m 2>&1; cat /boot/firmware/cmdline.txt')
    expect(other.stdout).toContain('No such file')
    expect(other.stdout).not.toContain('x=1')
    expect(existsSync('/etc/rancher/m')).toBe(false)
  })

  it('date runs ahead on the skewed host only', async () => {
    const skew = async (i: number) =>
      Number((await (await shell(i)).run('date +%s')).stdout.trim()) - Math.floor(Date.now() / 1000)
    expect(Math.abs((await skew(3)) - 300)).toBeLessThanOrEqual(3)
    expect(Math.abs(await skew(0))).toBeLessThanOrEqual(3)
    // other formats and explicit dates still work
    expect((await t.exec(3, 'date -u -d @0 +%Y')).stdout).toBe('1970\n')
  })

  it('sudo reboot returns, the host goes down, boots with the same host key, private state kept', async () => {
    const s = await shell(1)
    const boots = t.boots(1)
    const r = await s.run('sudo reboot', { timeoutMs: 10_000 })
    expect(r.code).toBe(0)
    s.close()
    await t.waitBoot(1, boots)
    expect(t.reboots(1)).toBe(1)
    const again = await shell(1) // same known_hosts: the key did not change
    expect((await again.run('cat /etc/rancher/m /var/lib/rancher/m; hostname')).stdout).toBe(
      'marker\nmarker\npi-b\n',
    )
    expect((await t.exec(1, 'cat /boot/firmware/cmdline.txt')).stdout).toContain('x=1')
    expect(t.reboots(0)).toBe(0)
  })

  it('stopHost makes a host unreachable until startHost', async () => {
    await t.stopHost(3)
    await expect(shell(3)).rejects.toThrow('unreachable over SSH')
    await t.startHost(3)
    expect((await (await shell(3)).run('hostname')).stdout).toBe('pi-d\n')
  })

  it('a reinstalled host has a new key, which a client refuses', async () => {
    const old = t.hosts[0].hostKeyPub
    const fresh = await t.reinstallHost(0)
    expect(fresh).not.toBe(old)
    expect(fresh).toMatch(/^ssh-ed25519 \S+$/)
    await expect(shell(0)).rejects.toThrow('has CHANGED')
    t.writeKnownHosts(known)
    expect(readFileSync(known, 'utf8')).toContain(t.knownHostsLine(0))
    expect((await (await shell(0)).run('hostname')).stdout).toBe('pi-a\n')
  })

  describe('stand-in k3s installer', () => {
    const token = 'K10standin-secret-token'

    it('records the call without the token, and fails when told to', async () => {
      const s = await shell(1)
      await installStandin(s)
      expect((await s.run('k3s --version')).stdout).toMatch(/^k3s version v\S+ \(standin\)/)
      await t.setStandin(1, { fail: 'disk on fire' })
      const cmd = `INSTALL_K3S_SKIP_DOWNLOAD='true' K3S_URL='https://${t.laptopIp}:6443' K3S_TOKEN='${token}' sh '/tmp/k3s-install.sh'`
      const r = await s.run(cmd, { sudo: true })
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('disk on fire')
      const [call] = await calls(1)
      expect(call).toMatchObject({
        event: 'install',
        role: 'agent',
        argv: [],
        env: { INSTALL_K3S_SKIP_DOWNLOAD: 'true', K3S_URL: `https://${t.laptopIp}:6443` },
        tokenSet: true,
        user: 'root',
        hostname: 'pi-b',
        code: 1,
      })
      const log = await t.exec(1, 'cat /var/lib/rancher/k3s/standin-calls.log')
      expect(log.stdout).not.toContain(token)
      // the server role without sudo is refused, and recorded as such
      await t.setStandin(1, {})
      const noRoot = await s.run(
        `INSTALL_K3S_SKIP_DOWNLOAD='true' K3S_TOKEN='${token}' INSTALL_K3S_EXEC='server --tls-san ${t.hosts[1].ip} --write-kubeconfig-mode 600' sh '/tmp/k3s-install.sh'`,
      )
      expect(noRoot.code).toBe(1)
      expect(noRoot.stderr).toContain('must run as root')
    })

    it('an agent joins the server named by K3S_URL with the token, after a hold, keeps the token only in a 0600 file; uninstalling removes its files', async () => {
      const seen: { method?: string; url?: string; auth?: string; body: string }[] = []
      const keyDir = mkdtempSync(join(tmpdir(), 'ec-standin-tls-'))
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=standin-test',
          '-keyout',
          join(keyDir, 'key.pem'),
          '-out',
          join(keyDir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      )
      const server: Server = createServer(
        { key: readFileSync(join(keyDir, 'key.pem')), cert: readFileSync(join(keyDir, 'cert.pem')) },
        (req, res) => {
          let body = ''
          req.on('data', (d: Buffer) => {
            body += d.toString()
          })
          req.on('end', () => {
            seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body })
            // the first attempt finds a server still starting, as an agent may
            res.writeHead(seen.length === 1 ? 503 : 201, { 'content-type': 'application/json' })
            res.end(JSON.stringify({ created: true }))
          })
        },
      )
      await new Promise<void>((r) => server.listen(0, t.laptopIp, r))
      try {
        const port = (server.address() as AddressInfo).port
        const s = await shell(2, { sudoPassword: t.hosts[2].sudoPassword })
        await installStandin(s)
        await t.setStandin(2, { holdS: 1, joinTries: 5 })
        const r = await s.run(
          `INSTALL_K3S_SKIP_DOWNLOAD='true' K3S_URL='https://${t.laptopIp}:${port}' K3S_TOKEN='${token}' sh '/tmp/k3s-install.sh'`,
          { sudo: true },
        )
        expect(r.stderr).toBe('')
        expect(r.code).toBe(0)
        expect(seen).toHaveLength(2)
        expect(seen[1]).toEqual({
          method: 'POST',
          url: '/admin/join',
          auth: `Bearer ${token}`,
          body: '{"name":"pi-c","arch":"arm64"}',
        })
        const [call] = await calls(2)
        expect(call).toMatchObject({ role: 'agent', code: 0, hostname: 'pi-c' })
        expect(call.endedAt - call.startedAt).toBeGreaterThanOrEqual(1000)
        const env = await t.exec(
          2,
          'stat -c %a /etc/systemd/system/k3s-agent.service.env; cat /etc/systemd/system/k3s-agent.service.env',
        )
        expect(env.stdout.split('\n').sort()).toEqual(
          ['', '600', `K3S_TOKEN=${token}`, `K3S_URL=https://${t.laptopIp}:${port}`].sort(),
        )
        expect((await s.run('cat /etc/systemd/system/k3s-agent.service.env')).code).not.toBe(0)
        const files = '/usr/local/bin/k3s /usr/local/bin/k3s-killall.sh /usr/local/bin/k3s-agent-uninstall.sh'
        expect((await t.exec(2, `ls ${files}`)).code).toBe(0)
        const u = await s.run('/usr/local/bin/k3s-agent-uninstall.sh', { sudo: true })
        expect(u).toMatchObject({ code: 0, stderr: '' })
        expect(
          (await t.exec(2, `ls ${files} /etc/systemd/system/k3s-agent.service.env 2>/dev/null`)).stdout,
        ).toBe('')
        // the harness's own stand-ins stay, and the calls log records the uninstall
        expect((await t.exec(2, 'ls /usr/local/bin')).stdout).toBe('arch\nuname\n')
        expect((await calls(2)).map((c) => c.event)).toEqual(['install', 'uninstall'])
      } finally {
        server.close()
        rmSync(keyDir, { recursive: true, force: true })
      }
    })
  })

  it('server: the sandbox serves as k3s on 6443 with the token, the server and an agent join, it survives a reboot, uninstall stops it', async () => {
    const token = 'K10standin-server-token'
    const [srv, agent] = [await shell(0), await shell(3)]
    await Promise.all([installStandin(srv), installStandin(agent)])
    const ip0 = t.hosts[0].ip
    // in parallel, as the bootstrap does: the agent retries until the server answers
    const [a, b] = await Promise.all([
      srv.run(
        `INSTALL_K3S_SKIP_DOWNLOAD='true' K3S_TOKEN='${token}' INSTALL_K3S_EXEC='server --tls-san ${ip0} --write-kubeconfig-mode 600' sh '/tmp/k3s-install.sh'`,
        { sudo: true },
      ),
      agent.run(
        `INSTALL_K3S_SKIP_DOWNLOAD='true' K3S_URL='https://${ip0}:6443' K3S_TOKEN='${token}' sh '/tmp/k3s-install.sh'`,
        { sudo: true },
      ),
    ])
    expect([a.code, a.stderr, b.code, b.stderr]).toEqual([0, '', 0, ''])
    expect(
      (await t.exec(0, 'stat -c %a /etc/rancher/k3s/k3s.yaml /var/lib/rancher/k3s/server/token')).stdout,
    ).toBe('600\n600\n')
    // the fetched kubeconfig (client certificates) works from the laptop once its server is rewritten
    const kubeconfig = join(dir, 'k3s.yaml')
    const yaml = (await srv.run('cat /etc/rancher/k3s/k3s.yaml', { sudo: true })).stdout
    expect(yaml).toContain('server: https://127.0.0.1:6443')
    writeFileSync(kubeconfig, yaml.replace('https://127.0.0.1:6443', `https://${ip0}:6443`), { mode: 0o600 })
    const nodes = () =>
      execFileSync('kubectl', ['--kubeconfig', kubeconfig, 'get', 'nodes', '-o', 'name'], {
        encoding: 'utf8',
        timeout: 30_000,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    expect(nodes().split('\n').filter(Boolean).sort()).toEqual(['node/pi-a', 'node/pi-d'])
    expect((await srv.run('k3s kubectl get nodes -o name', { sudo: true })).stdout).toContain('node/pi-a')
    // a reboot stops the server; the host starts it again, as systemd starts k3s
    const boots = t.boots(0)
    await srv.run('sudo reboot')
    await t.waitBoot(0, boots)
    await waitFor(
      'the server after the reboot',
      () => nodes().includes('node/pi-d') || undefined,
      60_000,
      500,
    )
    const again = await shell(0)
    const u = await again.run('/usr/local/bin/k3s-uninstall.sh', { sudo: true })
    expect(u).toMatchObject({ code: 0, stderr: '' })
    const left = await t.exec(
      0,
      'for f in /etc/rancher/k3s /usr/local/bin/k3s /usr/local/bin/k3s-uninstall.sh; do [ ! -e $f ] || echo $f; done; ls /var/lib/rancher/k3s; ss -Hltn "sport = :6443"',
    )
    expect(left.stdout).toBe('standin-calls.log\n')
    expect((await calls(0)).map((c) => `${c.event}:${c.role}:${c.code ?? ''}`)).toEqual([
      'install:server:0',
      'uninstall:server:',
    ])
  }, 180_000)

  it('cleanup ends every process by PID and removes namespaces, bridge and files', async () => {
    for (const s of shells.splice(0)) s.close()
    const pids = t.hosts.flatMap((_, i) => t.supervisorPids(i))
    const names = t.hosts.map((h) => h.netns)
    await t.cleanup()
    const list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    for (const n of names) expect(list).not.toContain(n)
    const alive = (pid: number) => {
      try {
        return !readFileSync(`/proc/${pid}/stat`, 'utf8').match(/^\d+ \(.*\) Z/)
      } catch {
        return false
      }
    }
    await waitFor('supervisors to be gone', () => pids.every((p) => !alive(p)) || undefined, 5_000)
    expect(execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' })).not.toContain(`${t.bridge}:`)
    expect(existsSync(t.dir)).toBe(false)
    expect(readFileSync('/etc/passwd', 'utf8')).toBe(passwdBefore)
  })
})
