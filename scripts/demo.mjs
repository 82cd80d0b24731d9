#!/usr/bin/env node
// The README's main job on the embedded sandbox:
//   sandbox up → init 1.0 → release 2.0 (verify running beside it) → verify
//   → a bad release (FAIL_RATE=0.3) that rolls back by itself → verify shows only 2.0.
// State lives in .demo/ (EDGECANARY_HOME and edgecanary.yaml); the sandbox keeps running
// afterwards so you can look around with kubectl. `edgecanary sandbox down` stops it.
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..')
const work = join(root, '.demo')
const home = join(work, 'home')
const cli = join(root, 'bin', 'run.js')
const env = { ...process.env, EDGECANARY_HOME: home }
const fresh = !process.argv.includes('--keep')

function banner(text) {
  process.stderr.write(`\n\x1b[1m━━ ${text}\x1b[0m\n`)
}

function ec(args, { allow = [0] } = {}) {
  process.stderr.write(`$ edgecanary ${args.join(' ')}\n`)
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: work, env, stdio: 'inherit' })
  if (!allow.includes(r.status)) {
    process.stderr.write(`demo: \`edgecanary ${args.join(' ')}\` exited ${r.status}\n`)
    process.exit(r.status ?? 1)
  }
  return r.status
}

/** Runs verify in the background while a release runs, and reports its summary after. */
function verifyBeside(requests) {
  const child = spawn(process.execPath, [cli, 'verify', '--requests', String(requests), '--rate', '20'], {
    cwd: work,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)))
}

if (fresh) {
  spawnSync(process.execPath, [cli, 'sandbox', 'down'], { cwd: root, env, stdio: 'ignore' })
  rmSync(work, { recursive: true, force: true })
}
mkdirSync(work, { recursive: true })

banner('1. Start the sandbox cluster (4 arm64 nodes, registry, LoadBalancer)')
ec(['sandbox', 'up'])
ec(['sandbox', 'status'])

banner('2. init: build sample-app 1.0 for linux/arm64, push, deploy 4 stable pods behind a LoadBalancer')
ec(['init', '--version', '1.0', '--source', join(root, 'sample-app')])
ec(['verify', '--requests', '60', '--rate', '30', '--expect-version', '1.0'])

banner('3. release 2.0 as a replica-ratio canary (3:1 → 2:2 → 1:3 → promote), verify running beside it')
const during = verifyBeside(400)
ec(['release', '2.0', '--source', join(root, 'sample-app'), '--interval', '2s', '--iterations', '2'])
await during
ec(['verify', '--requests', '100', '--rate', '40', '--expect-version', '2.0'])

banner('4. a bad release: 3.0 answers 30 % of requests with 500 — edgecanary rolls it back by itself')
const code = ec(
  [
    'release',
    '3.0',
    '--source',
    join(root, 'sample-app'),
    '--env',
    'FAIL_RATE=0.3',
    '--interval',
    '2s',
    '--iterations',
    '2',
  ],
  { allow: [1] },
)
process.stderr.write(`release 3.0 exited ${code} (1 = rolled back)\n`)
ec(['verify', '--requests', '100', '--rate', '40', '--expect-version', '2.0'])
ec(['history'])

banner('Done. The sandbox keeps running: try `kubectl get deploy,pods,svc -n production`.')
process.stderr.write(`Stop it with: EDGECANARY_HOME=${home} node ${cli} sandbox down\n`)
