// npm run bench:bootstrap — `init --hosts` bootstrap of 1 host vs 4 hosts, side by side in one
// run, on real sshd hosts in network namespaces (root only) with the stand-in k3s installer
// holding every install for a fixed time. Preflight and agents run in parallel, so 4 hosts
// should take about as long as 1: goal ≤ 1.3×.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { connectCluster } from '../../src/adapters/kube-cluster.js'
import { connectShell } from '../../src/adapters/ssh-shell.js'
import { resolveHosts } from '../../src/bootstrap/hosts.js'
import { type BootstrapDeps, runBootstrap, runUninstall } from '../../src/bootstrap/service.js'
import { mergeIntoKubeconfig, removeContextFromKubeconfig } from '../../src/kubeconfig-file.js'
import { silentProgress } from '../../src/ports.js'
import { startHosts } from '../helpers/netns-hosts.js'
import { repoRoot } from '../helpers/sandbox.js'

if (process.getuid?.() !== 0) {
  console.log('bench:bootstrap needs root (network namespaces for the SSH test hosts); skipped')
  process.exit(0)
}
const HOLD_S = Number(process.env.HOLD_S ?? 4)
const ROUNDS = Number(process.env.ROUNDS ?? 2)
const t = await startHosts(4)
try {
  const known = t.writeKnownHosts(join(t.dir, 'known_hosts'))
  const kubeconfig = join(t.dir, 'kubeconfig')
  const fixtures = join(repoRoot, 'test', 'fixtures', 'k3s-standin')
  for (let i = 0; i < 4; i++) {
    // cgroup flags already set, so no reboot is part of the measurement; every install holds HOLD_S
    await t.exec(i, "sed -i 's/$/ cgroup_memory=1 cgroup_enable=memory/' /boot/firmware/cmdline.txt")
    await t.setStandin(i, { holdS: HOLD_S })
  }
  const deps: BootstrapDeps = {
    connect: (h) =>
      connectShell({
        host: h.address,
        port: h.port,
        user: h.user,
        keyFiles: [t.clientKeyFile],
        knownHostsFile: known,
      }),
    cluster: (file, context) => connectCluster({ kubeconfig: file, context }),
    mergeKubeconfig: (incoming, ctx) => void mergeIntoKubeconfig(kubeconfig, incoming, ctx),
    removeKubeconfigContext: (ctx) => removeContextFromKubeconfig(kubeconfig, ctx),
    nowS: () => Date.now() / 1000,
  }
  const install = {
    kind: 'airgap' as const,
    binary: readFileSync(join(fixtures, 'k3s')),
    script: readFileSync(join(fixtures, 'install.sh')),
  }
  const targetsOf = (n: number) =>
    resolveHosts(
      t.hosts
        .slice(0, n)
        .map((h) => `pi@${h.ip}`)
        .join(','),
      { sshConfig: '', home: t.dir },
    )
  const once = async (n: number) => {
    const targets = targetsOf(n)
    const start = performance.now()
    const r = await runBootstrap(deps, silentProgress, {
      targets,
      install,
      fixCgroups: false,
      context: 'bench',
      kubeconfig,
    })
    const ms = performance.now() - start
    if (r.nodes.filter((x) => x.ready).length !== n) throw new Error(`expected ${n} Ready nodes`)
    await runUninstall(deps, silentProgress, { targets, context: 'bench', kubeconfig })
    return ms
  }
  const one: number[] = []
  const four: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    one.push(await once(1))
    four.push(await once(4))
  }
  const best = (xs: number[]) => Math.min(...xs)
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
  const fmt = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(1)).join(' / ')
  console.log(`installer held ${HOLD_S} s per host; ${ROUNDS} rounds, 1 host and 4 hosts alternating`)
  console.log(`bootstrap of 1 host (server):            ${fmt(one)} s`)
  console.log(`bootstrap of 4 hosts (server + 3 agents): ${fmt(four)} s`)
  console.log(
    `4 hosts / 1 host: ${(best(four) / best(one)).toFixed(2)}× best of each, ${(mean(four) / mean(one)).toFixed(2)}× mean   goal ≤ 1.3× (a serial bootstrap would be ~4×)`,
  )
} finally {
  await t.cleanup()
}
