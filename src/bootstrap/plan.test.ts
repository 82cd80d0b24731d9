import { describe, expect, it } from 'vitest'
import {
  cleanupInstallCommand,
  downloadInstallerCommand,
  fixCmdline,
  installEnv,
  planBootstrap,
  redact,
  registriesYaml,
  runInstallerCommand,
} from './plan.js'
import { archOf, type HostFacts, judgeHosts } from './preflight.js'

describe('k3s install: environment file, download, run (exact match)', () => {
  it.each([
    [
      { kind: 'online' as const, version: 'v1.32.3+k3s1' },
      "INSTALL_K3S_VERSION='v1.32.3+k3s1'\nK3S_TOKEN='T0k'\nINSTALL_K3S_EXEC='server --tls-san 10.0.0.10 --write-kubeconfig-mode 600'\n",
    ],
    [
      { kind: 'online' as const, channel: 'stable' },
      "INSTALL_K3S_CHANNEL='stable'\nK3S_TOKEN='T0k'\nINSTALL_K3S_EXEC='server --tls-san 10.0.0.10 --write-kubeconfig-mode 600'\n",
    ],
    [
      { kind: 'airgap' as const, script: '/tmp/ec/install.sh' },
      "INSTALL_K3S_SKIP_DOWNLOAD='true'\nK3S_TOKEN='T0k'\nINSTALL_K3S_EXEC='server --tls-san 10.0.0.10 --write-kubeconfig-mode 600'\n",
    ],
  ])('server environment %j', (src, env) =>
    expect(installEnv(src, 'T0k', { role: 'server', tlsSan: '10.0.0.10' })).toBe(env),
  )

  it.each([
    [{ kind: 'online' as const }, "K3S_URL='https://10.0.0.10:6443'\nK3S_TOKEN='T0k'\n"],
    [
      { kind: 'airgap' as const, script: '/tmp/i.sh' },
      "INSTALL_K3S_SKIP_DOWNLOAD='true'\nK3S_URL='https://10.0.0.10:6443'\nK3S_TOKEN='T0k'\n",
    ],
  ])('agent environment %j', (src, env) =>
    expect(installEnv(src, 'T0k', { role: 'agent', serverUrl: 'https://10.0.0.10:6443' })).toBe(env),
  )

  it('quotes a token with a quote in it', () => {
    expect(installEnv({ kind: 'online' }, "a'b", { role: 'agent', serverUrl: 'u' })).toContain(
      `K3S_TOKEN='a'\\''b'`,
    )
  })

  it('downloads to a file and checks it before it runs; no token on the command that runs it', () => {
    expect(downloadInstallerCommand('/tmp/k.sh')).toBe(
      `rm -f '/tmp/k.sh' && curl -sfSL --connect-timeout 10 --max-time 120 -o '/tmp/k.sh' https://get.k3s.io && { [ -s '/tmp/k.sh' ] || { echo "the downloaded installer is empty" >&2; exit 3; }; } && { [ "$(head -c 2 '/tmp/k.sh')" = '#!' ] || { echo "the downloaded installer is not a shell script (it does not start with #!)" >&2; exit 3; }; }`,
    )
    expect(runInstallerCommand('/run/e.env', '/tmp/k.sh', '/var/lib/ec/u')).toBe(
      `set -a; . '/run/e.env'; rc=$?; set +a; rm -f '/run/e.env'; [ $rc -eq 0 ] || exit $rc; mkdir -p '/var/lib/ec' && : > '/var/lib/ec/u' || exit 1; exec sh '/tmp/k.sh'`,
    )
    expect(cleanupInstallCommand(['/run/e.env', "/tmp/a'b"])).toBe(`rm -f '/run/e.env' '/tmp/a'\\''b'`)
  })
})

describe('registries.yaml', () => {
  it.each([
    [
      { registry: '10.0.0.5:5000', http: true },
      'mirrors:\n  10.0.0.5:5000:\n    endpoint:\n      - http://10.0.0.5:5000\n',
    ],
    [
      { registry: 'reg.lan:5000', auth: { username: 'ci', password: 'pw' } },
      'mirrors:\n  reg.lan:5000:\n    endpoint:\n      - https://reg.lan:5000\nconfigs:\n  reg.lan:5000:\n    auth:\n      username: ci\n      password: pw\n',
    ],
  ])('%j', (t, yaml) => expect(registriesYaml(t)).toBe(yaml))
})

describe('cmdline.txt', () => {
  it.each([
    [
      'console=serial0,115200 root=PARTUUID=1 rootwait\n',
      'console=serial0,115200 root=PARTUUID=1 rootwait cgroup_memory=1 cgroup_enable=memory\n',
    ],
    ['root=x cgroup_memory=1\n', 'root=x cgroup_memory=1 cgroup_enable=memory\n'],
    ['root=x cgroup_memory=1 cgroup_enable=memory\n', undefined],
  ])('%j', (text, out) => expect(fixCmdline(text)).toBe(out))

  it('stays one line and is idempotent', () => {
    const once = fixCmdline('a b\n') ?? ''
    expect(once.trim().split('\n')).toHaveLength(1)
    expect(fixCmdline(once)).toBeUndefined()
  })
})

describe('preflight verdicts', () => {
  const base: HostFacts = {
    host: 'pi@10.0.0.10',
    machine: 'aarch64',
    os: 'Debian 12',
    memMiB: 3800,
    diskFreeMiB: 20000,
    clockSkewS: 0,
    hostname: 'pi-1',
    busyPorts: [],
    cmdlineFlags: true,
  }
  it.each([
    [{}, true, ''],
    [{ memMiB: 256 }, false, 'memory'],
    [{ clockSkewS: 120 }, false, 'clock is off by 120 s'],
    [{ busyPorts: [6443] }, false, 'port 6443'],
    [{ cmdlineFlags: false }, false, '--fix-cgroups'],
  ])('%j → ok %s', (patch, ok, text) => {
    const [v] = judgeHosts([{ ...base, ...patch }])
    expect(v.ok).toBe(ok)
    if (text) expect(v.problems.join(' ')).toContain(text)
  })
  it.each([
    [{ busyPorts: [6443], installed: 'server' as const }, {}, true],
    [{ cmdlineFlags: false }, { fixCgroups: true }, true],
    [{ clockSkewS: 10 }, {}, true],
  ])('%j with %j → ok %s', (patch, opts, ok) => {
    expect(judgeHosts([{ ...base, ...patch }], opts)[0].ok).toBe(ok)
  })
  it('names the cmdline file it would fix', () => {
    const [v] = judgeHosts([{ ...base, cmdlineFlags: false, cmdlineFile: '/boot/firmware/cmdline.txt' }])
    expect(v.problems).toEqual([
      'cgroup memory is not enabled in /boot/firmware/cmdline.txt (fix with --fix-cgroups)',
    ])
  })
  it('duplicate hostnames fail both hosts', () => {
    const v = judgeHosts([base, { ...base, host: 'pi@10.0.0.11' }])
    expect(v.every((x) => !x.ok && x.problems[0].includes('used by 2 hosts'))).toBe(true)
  })
  it.each([
    ['aarch64', 'arm64'],
    ['armv7l', 'arm'],
    ['x86_64', 'amd64'],
  ])('archOf(%s) = %s', (m, a) => expect(archOf(m)).toBe(a))
})

describe('redact', () => {
  it('hides every secret', () =>
    expect(redact("K3S_TOKEN='s3cret' x s3cret", ['s3cret'])).toBe("K3S_TOKEN='***' x ***"))
})

describe('bootstrap plan (--dry-run)', () => {
  const plan = planBootstrap({
    hosts: [
      { label: 'pi@10.0.0.10', address: '10.0.0.10' },
      { label: 'pi@10.0.0.11', address: '10.0.0.11' },
    ],
    source: { kind: 'airgap', script: '/tmp/k3s-install.sh' },
    registries: registriesYaml({ registry: '10.0.0.5:5000', http: true }),
    fixCgroups: true,
    context: 'edgecanary',
    kubeconfig: '/home/me/.kube/config',
  })
  it('names server then agents with their exact commands, token redacted and never on a command line', () => {
    expect(plan).toContain(
      '  unless k3s is installed: write /run/edgecanary-k3s-install.env (0600, root; over stdin, never a command line):',
    )
    expect(plan).toContain("    K3S_TOKEN='***'")
    expect(plan).toContain("    INSTALL_K3S_EXEC='server --tls-san 10.0.0.10 --write-kubeconfig-mode 600'")
    expect(plan).toContain("    K3S_URL='https://10.0.0.10:6443'")
    const runs = plan.filter((l) => l.includes('sudo sh -c'))
    expect(runs).toHaveLength(2)
    for (const l of runs) {
      expect(l).toContain('/run/edgecanary-k3s-install.env')
      expect(l).toContain('exec sh ')
      expect(l).not.toContain('K3S_TOKEN')
    }
    expect(plan[0]).toBe('server pi@10.0.0.10')
    expect(plan.filter((l) => l.startsWith('agent'))).toEqual(['agent  pi@10.0.0.11'])
    expect(plan.join('\n')).toContain('http://10.0.0.5:5000')
    expect(plan.join('\n')).toContain('cgroup_memory=1 cgroup_enable=memory')
  })
})
