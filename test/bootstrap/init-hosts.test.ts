import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { type CliResult, runCli } from '../helpers/cli.js'
import { startHosts, type TestHosts } from '../helpers/netns-hosts.js'
import { repoRoot } from '../helpers/sandbox.js'

interface HostReport {
  host: string
  role: string
  hostname?: string
  ok: boolean
  k3s?: string
  outcome?: string
  stoppedBy?: string
  cgroups?: string
  registries?: string
  problems: string[]
}

// `init --hosts` against four real sshd "Pis" in network namespaces, with the stand-in k3s
// installer (airgap flags) that runs the edgecanary sandbox as the k3s API on the server host
// and joins the agents as its nodes. Host 2's sudo needs a password.
describe('edgecanary init --hosts on four SSH hosts', { timeout: 300_000 }, () => {
  let t: TestHosts
  let home: string
  let env: NodeJS.ProcessEnv
  let work: string
  const fixtures = join(repoRoot, 'test', 'fixtures', 'k3s-standin')
  const ec = (args: string[], input = '', timeoutMs = 240_000) =>
    runCli(args, { env, cwd: work, input, timeoutMs })
  const hostsFlag = () => t.hosts.map((h) => `pi@${h.ip}`).join(',')
  const base = () => [
    'init',
    '--hosts',
    hostsFlag(),
    '--k3s-binary',
    join(fixtures, 'k3s'),
    '--k3s-install-script',
    join(fixtures, 'install.sh'),
    '--registry',
    'laptop',
    '--sudo-password-stdin',
    '--source',
    join(repoRoot, 'sample-app'),
    '--version',
    '1.0',
    '--replicas',
    '4',
  ]
  const password = () => `${t.hosts[2].sudoPassword}\n`
  const kubeconfig = () => join(home, '.kube', 'config')
  const kubectl = (...args: string[]) =>
    execFileSync('kubectl', ['--kubeconfig', kubeconfig(), '--context', 'edgecanary', ...args], {
      encoding: 'utf8',
      timeout: 30_000,
    })
  const calls = async (i: number) =>
    (await t.exec(i, 'cat /var/lib/rancher/k3s/standin-calls.log 2>/dev/null || true')).stdout
      .split('\n')
      .filter(Boolean)
      .map(
        (l) =>
          JSON.parse(l) as { event: string; role: string; env: Record<string, string>; tokenSet: boolean },
      )
  const cat = async (i: number, file: string) => (await t.exec(i, `cat ${file} 2>/dev/null || true`)).stdout
  const reports = (r: CliResult) =>
    (JSON.parse(r.stdout) as { error: { hosts?: HostReport[]; message: string } }).error
  const noSecrets = async (r: CliResult) => {
    const token = (await cat(0, '/var/lib/rancher/k3s/server/token')).trim()
    for (const secret of [token, t.hosts[2].sudoPassword].filter((s): s is string => !!s && s.length > 3)) {
      expect(r.stdout).not.toContain(secret)
      expect(r.stderr).not.toContain(secret)
    }
  }

  beforeAll(async () => {
    t = await startHosts(4, { sudoPasswordHost: 2, clockSkewS: { 3: 12 } })
    home = mkdtempSync(join(tmpdir(), 'ec-init-hosts-'))
    mkdirSync(join(home, '.ssh'), { mode: 0o700 })
    copyFileSync(t.clientKeyFile, join(home, '.ssh', 'id_ed25519'))
    work = join(home, 'work')
    mkdirSync(work)
    env = {
      ...process.env,
      HOME: home,
      EDGECANARY_HOME: join(home, '.edgecanary'),
      KUBECONFIG: '',
      CI: 'true',
      SSH_AUTH_SOCK: '',
    }
  }, 180_000)
  afterAll(async () => {
    if (env) await ec(['registry', 'down'], '', 30_000)
    await t?.cleanup()
    if (home) rmSync(home, { recursive: true, force: true })
  }, 120_000)

  it('refuses unknown host keys without --accept-new-host-keys, changing nothing', async () => {
    const r = await ec([...base(), '--json'], password())
    expect(r.status, r.stderr).toBe(2)
    expect(reports(r).message).toMatch(/is not in .*known_hosts/)
    expect(await cat(0, '/boot/firmware/cmdline.txt')).not.toContain('cgroup_memory=1')
    expect(await calls(0)).toEqual([])
  })

  it('an unreachable host fails preflight with a per-host table; nothing changes anywhere', async () => {
    await t.stopHost(3)
    const r = await ec([...base(), '--accept-new-host-keys', '--fix-cgroups', '--json'], password())
    await t.startHost(3)
    expect(r.status, r.stderr).toBe(2)
    const hosts = reports(r).hosts ?? []
    expect(hosts.map((h) => h.ok)).toEqual([true, true, true, false])
    expect(hosts[3].problems[0]).toMatch(/unreachable/)
    expect(hosts[0].hostname).toBe('pi-a')
    for (const i of [0, 1, 2]) {
      expect(t.reboots(i)).toBe(0)
      expect(await calls(i)).toEqual([])
    }
    // the reachable hosts' keys were recorded on first contact
    const known = readFileSync(join(home, '.ssh', 'known_hosts'), 'utf8')
    for (const i of [0, 1, 2]) expect(known).toContain(t.hosts[i].hostKeyPub)
  })

  it('a wrong sudo password is refused on that host, before anything changes', async () => {
    const r = await ec([...base(), '--accept-new-host-keys', '--fix-cgroups', '--json'], 'not-the-password\n')
    expect(r.status, r.stderr).toBe(2)
    const hosts = reports(r).hosts ?? []
    expect(hosts[2].ok).toBe(false)
    expect(hosts[2].problems[0]).toMatch(/sudo refused on pi@/)
    expect(hosts.filter((h) => h.ok)).toHaveLength(3)
    expect(t.reboots(0)).toBe(0)
  })

  it('fixes cgroups once, then an installer failing on one host is reported per host, the others stopped (exit 1)', async () => {
    await t.setStandin(1, { fail: 'disk on fire' })
    const r = await ec([...base(), '--accept-new-host-keys', '--fix-cgroups', '--json'], password())
    expect(r.status, r.stderr).toBe(1)
    const err = reports(r)
    expect(err.message).toContain('disk on fire')
    const hosts = err.hosts ?? []
    // the first failure stops the others (the agents cannot finish before the server is up)
    const b = `pi@${t.hosts[1].ip}`
    expect(hosts.map((h) => [h.ok, h.outcome, h.stoppedBy])).toEqual([
      [false, 'stopped', b],
      [false, 'failed', undefined],
      [false, 'stopped', b],
      [false, 'stopped', b],
    ])
    for (let i = 0; i < 4; i++) {
      expect(t.reboots(i)).toBe(1)
      const cmdline = await cat(i, '/boot/firmware/cmdline.txt')
      expect(cmdline.trim().split('\n')).toHaveLength(1)
      expect(cmdline.trim().endsWith('rootwait cgroup_memory=1 cgroup_enable=memory')).toBe(true)
      expect(await cat(i, '/boot/firmware/cmdline.txt.edgecanary.bak')).not.toContain('cgroup')
    }
    await noSecrets(r)
  })

  it('the re-run completes: 4 Ready nodes, kubeconfig context with client certs, app deployed', async () => {
    await t.setStandin(1, { fail: false })
    const r = await ec([...base(), '--json'], password(), 360_000)
    expect(r.status, `${r.stderr}\n${r.stdout}`).toBe(0)
    const out = JSON.parse(r.stdout) as {
      url?: string
      bootstrap: {
        nodes: { name: string; ready: boolean; arch: string }[]
        hosts: HostReport[]
        changed: boolean
      }
    }
    expect(out.bootstrap.nodes.map((n) => [n.name, n.ready, n.arch]).sort()).toEqual([
      ['pi-a', true, 'arm64'],
      ['pi-b', true, 'arm64'],
      ['pi-c', true, 'arm64'],
      ['pi-d', true, 'arm64'],
    ])
    // the stopped hosts' installs did not finish: they run again, not "already installed"
    expect(out.bootstrap.hosts.map((h) => h.k3s)).toEqual([
      'installed',
      'installed',
      'installed',
      'installed',
    ])
    // host 3's clock runs 12 s ahead: measured against the laptop, a warning, not a refusal
    const skewed = out.bootstrap.hosts[3] as HostReport & { clockSkewS: number; warnings: string[] }
    expect(skewed.clockSkewS).toBeGreaterThanOrEqual(10)
    expect(skewed.clockSkewS).toBeLessThanOrEqual(14)
    expect(skewed.warnings.join(' ')).toMatch(/clock is off by 1\d s/)
    expect(
      Math.abs((out.bootstrap.hosts[0] as HostReport & { clockSkewS: number }).clockSkewS),
    ).toBeLessThanOrEqual(2)
    // no second reboot: the flags were already there
    for (let i = 0; i < 4; i++) expect(t.reboots(i)).toBe(1)

    // kubeconfig: 0600, parsed and rewritten, client certificates (as k3s writes them)
    expect(statSync(kubeconfig()).mode & 0o777).toBe(0o600)
    const kc = parse(readFileSync(kubeconfig(), 'utf8'))
    expect(kc['current-context']).toBe('edgecanary')
    expect(kc.clusters[0].cluster.server).toBe(`https://${t.hosts[0].ip}:6443`)
    expect(kc.users[0].user['client-certificate-data']).toBeTruthy()
    expect(kc.users[0].user.token).toBeUndefined()
    // kubectl, an independent client, sees the nodes through it
    expect(kubectl('get', 'nodes', '--no-headers')).toMatch(/pi-d\s+Ready/)

    // the installer got the server and agent environments; the token was set, never shown
    const server = (await calls(0)).filter((c) => c.event === 'install')
    expect(server[0].role).toBe('server')
    expect(server[0].env.INSTALL_K3S_EXEC).toBe(
      `server --tls-san ${t.hosts[0].ip} --write-kubeconfig-mode 600`,
    )
    expect(server[0].tokenSet).toBe(true)
    const agent = (await calls(3)).filter((c) => c.event === 'install')
    expect(agent.length).toBeGreaterThanOrEqual(1)
    for (const c of agent) expect([c.role, c.env.K3S_URL]).toEqual(['agent', `https://${t.hosts[0].ip}:6443`])
    await noSecrets(r)

    // registries.yaml trusts the laptop's registry over plain HTTP
    for (let i = 0; i < 4; i++) {
      expect(await cat(i, '/etc/rancher/k3s/registries.yaml')).toContain(`http://${t.laptopIp}:`)
    }
    // the laptop registry serves the Pis' pulls, but takes pushes only from the laptop itself
    // (another machine needs the push token: 401 without it)
    const mirror = /http:\/\/([\d.]+:\d+)/.exec(await cat(0, '/etc/rancher/k3s/registries.yaml'))?.[1]
    const httpCode = async (args: string) =>
      (await t.exec(0, `curl -s -o /dev/null -w '%{http_code}' ${args}`)).stdout
    expect(await httpCode(`http://${mirror}/v2/kubeapp/tags/list`)).toBe('200')
    expect(await httpCode(`-X POST http://${mirror}/v2/kubeapp/blobs/uploads/`)).toBe('401')
    // the stable app runs on the new cluster and answers from the laptop
    expect(
      kubectl('get', 'deploy', 'kubeapp', '-n', 'production', '-o', 'jsonpath={.status.readyReplicas}'),
    ).toBe('4')
    expect(out.url).toContain(t.hosts[0].ip)
    const res = await fetch(`${out.url}/version`)
    expect((await res.text()).trim()).toBe('1.0')
  })

  it('a second run changes nothing on the hosts', async () => {
    const before = await Promise.all([0, 1, 2, 3].map((i) => calls(i)))
    const r = await ec([...base(), '--json'], password())
    expect(r.status, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as { bootstrap: { changed: boolean; hosts: HostReport[] } }
    expect(out.bootstrap.changed).toBe(false)
    expect(out.bootstrap.hosts.map((h) => [h.k3s, h.registries])).toEqual(
      Array(4).fill(['already installed', 'unchanged']),
    )
    expect(await Promise.all([0, 1, 2, 3].map((i) => calls(i)))).toEqual(before)
    for (let i = 0; i < 4; i++) expect(t.reboots(i)).toBe(1)
  })

  it('release 2.0 works on the bootstrapped cluster', async () => {
    const r = await ec(['release', '2.0', '--interval', '1s', '--iterations', '1', '--json'], '', 300_000)
    expect(r.status, r.stderr).toBe(0)
    expect((JSON.parse(r.stdout) as { phase: string }).phase).toBe('Succeeded')
    const image = kubectl(
      'get',
      'deploy',
      'kubeapp',
      '-n',
      'production',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}',
    )
    expect(image).toMatch(/:2\.0@sha256:[0-9a-f]{64}$/)
  })

  it('a changed host key is refused, naming the new fingerprint', async () => {
    await t.reinstallHost(1)
    const r = await ec([...base(), '--accept-new-host-keys'], password())
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/host key of .* has CHANGED \(now SHA256:/)
    expect(r.stderr).toContain('ssh-keygen -R')
    // the preflight table names every host and where each stands
    expect(r.stderr).toMatch(/HOST\s+ROLE\s+HOSTNAME\s+ARCH/)
    expect(r.stderr).toMatch(
      new RegExp(`pi@${t.hosts[0].ip.replace(/\./g, '\\.')}\\s+server\\s+pi-a\\s+arm64`),
    )
  })

  it('--dry-run prints the plan with the token redacted, touching nothing', async () => {
    // it connects (the read-only preflight): host 1 got a new key above, and a changed key is
    // refused, so first accept it again as the user would after checking it
    execFileSync('ssh-keygen', ['-R', t.hosts[1].ip, '-f', join(home, '.ssh', 'known_hosts')], {
      stdio: 'ignore',
    })
    const before = await Promise.all([0, 1, 2, 3].map((i) => calls(i)))
    const r = await ec([...base(), '--dry-run', '--accept-new-host-keys'], password())
    expect(r.status, r.stderr).toBe(0)
    expect(await Promise.all([0, 1, 2, 3].map((i) => calls(i)))).toEqual(before)
    expect(r.stdout).toContain(`server pi@${t.hosts[0].ip}`)
    expect(r.stdout).toContain("K3S_TOKEN='***'")
  })

  it('--uninstall, with hosts named by ~/.ssh/config aliases, runs the uninstall scripts and removes the context', async () => {
    // aliases resolve through ~/.ssh/config (Host → HostName, User), as with ssh
    writeFileSync(
      join(home, '.ssh', 'config'),
      t.hosts.map((h) => `Host ${h.name}\n  HostName ${h.ip}\n  User pi\n`).join('\n'),
    )
    const r = await ec(
      [
        'init',
        '--uninstall',
        '--hosts',
        t.hosts.map((h) => h.name).join(','),
        '--accept-new-host-keys',
        '--sudo-password-stdin',
        '--json',
      ],
      password(),
    )
    expect(r.status, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as {
      hosts: { host: string; removed: string }[]
      contextRemoved: boolean
    }
    expect(out.hosts.map((h) => [h.host, h.removed])).toEqual(
      t.hosts.map((h, i) => [`pi@${h.ip}`, i === 0 ? 'server' : 'agent']),
    )
    expect(out.contextRemoved).toBe(true)
    expect((await calls(0)).at(-1)?.event).toBe('uninstall')
    expect(await cat(0, '/usr/local/bin/k3s-uninstall.sh')).toBe('')
  })
})
