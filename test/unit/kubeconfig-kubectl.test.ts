import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { connectCluster } from '../../src/adapters/kube-cluster.js'
import { mergeKubeconfigFiles, resolveKubeconfig } from '../../src/core/kubeconfig-rules.js'
import {
  kubeconfigFiles,
  mergeIntoKubeconfig,
  removeContextFromKubeconfig,
} from '../../src/kubeconfig-file.js'

// kubectl 1.32 is the oracle: for each layout of kubeconfig files, the server, user and
// namespace that `kubectl config view --minify --raw` resolves must be what edgecanary uses.
const KUBECTL = '/usr/bin/kubectl'

const cluster = (name: string, server: string) => `  - name: ${name}\n    cluster: { server: "${server}" }\n`
const user = (name: string, token: string) => `  - name: ${name}\n    user: { token: ${token} }\n`
const context = (name: string, c: string, u: string, ns?: string) =>
  `  - name: ${name}\n    context: { cluster: ${c}, user: ${u}${ns ? `, namespace: ${ns}` : ''} }\n`
const file = (o: { clusters?: string[]; users?: string[]; contexts?: string[]; current?: string }) =>
  `apiVersion: v1\nkind: Config\n${o.clusters ? `clusters:\n${o.clusters.join('')}` : ''}${
    o.users ? `users:\n${o.users.join('')}` : ''
  }${o.contexts ? `contexts:\n${o.contexts.join('')}` : ''}${o.current !== undefined ? `current-context: "${o.current}"\n` : ''}`

interface Layout {
  name: string
  files: Record<string, string>
  /** $KUBECONFIG, with paths relative to the layout's directory ('~' = no variable: ~/.kube/config). */
  env?: string
  flag?: string
  context?: string
}

const A = file({
  clusters: [cluster('pi', 'https://10.0.0.1:6443'), cluster('lab', 'https://10.0.0.9:6443')],
  users: [user('admin', 'token-a')],
  contexts: [context('prod', 'pi', 'admin', 'production'), context('dev', 'lab', 'admin')],
  current: 'prod',
})
const B = file({
  clusters: [cluster('pi', 'https://10.9.9.9:6443'), cluster('other', 'https://10.0.0.2:6443')],
  users: [user('admin', 'token-b'), user('ci', 'token-ci')],
  contexts: [context('prod', 'other', 'ci', 'staging'), context('ci', 'pi', 'ci', 'ci-ns')],
  current: 'ci',
})

const layouts: Layout[] = [
  { name: 'one file, current context with a namespace', files: { a: A }, env: 'a' },
  { name: 'two files: current-context from the first', files: { a: A, b: B }, env: 'a:b' },
  { name: 'two files reversed: the first (b) wins for every name', files: { a: A, b: B }, env: 'b:a' },
  {
    name: 'empty current-context in the first file: the second decides',
    files: { a: A.replace('current-context: "prod"', 'current-context: ""'), b: B },
    env: 'a:b',
  },
  { name: 'a missing file in the list is skipped', files: { b: B }, env: 'missing:b' },
  {
    name: '--context names a context only the second file defines',
    files: { a: A, b: B },
    env: 'a:b',
    context: 'ci',
  },
  {
    name: "--context for a name both define: the first file's entry, with its namespace",
    files: { a: A, b: B },
    env: 'b:a',
    context: 'prod',
  },
  { name: '--kubeconfig means that file only', files: { a: A, b: B }, env: 'a', flag: 'b' },
  { name: 'repeated and empty entries in the list', files: { a: A, b: B }, env: ':b::a:b:' },
  { name: 'no $KUBECONFIG: ~/.kube/config', files: { '.kube/config': B, a: A }, env: '~' },
  {
    name: 'users in one file, clusters and contexts in another',
    files: {
      u: file({ users: [user('admin', 'token-u')] }),
      c: file({
        clusters: [cluster('pi', 'https://10.1.1.1:6443')],
        users: [user('admin', 'token-late')],
        contexts: [context('pi', 'pi', 'admin')],
        current: 'pi',
      }),
    },
    env: 'u:c',
  },
  { name: 'a context without a namespace', files: { a: A }, env: 'a', context: 'dev' },
  {
    name: 'no current context anywhere: refused by both',
    files: { a: A.replace('current-context: "prod"', 'current-context: ""') },
    env: 'a',
  },
  {
    name: '--context that no file defines: refused by both',
    files: { a: A, b: B },
    env: 'a:b',
    context: 'nope',
  },
  {
    name: 'one name twice in one file: refused by both',
    files: { a: A.replace(cluster('lab', 'https://10.0.0.9:6443'), cluster('pi', 'https://10.0.0.8:6443')) },
    env: 'a',
  },
]

describe('kubeconfig files are read as kubectl reads them', () => {
  const root = mkdtempSync(join(tmpdir(), 'ec-kcfg-'))
  const saved = { KUBECONFIG: process.env.KUBECONFIG, HOME: process.env.HOME }
  afterAll(() => {
    process.env.KUBECONFIG = saved.KUBECONFIG
    process.env.HOME = saved.HOME
    if (saved.KUBECONFIG === undefined) delete process.env.KUBECONFIG
    rmSync(root, { recursive: true, force: true })
  })

  it.each(layouts.map((l, i) => [l.name, l, i] as const))('%s', (_name, l, i) => {
    const dir = join(root, String(i))
    for (const [p, text] of Object.entries(l.files)) {
      mkdirSync(join(dir, p, '..'), { recursive: true })
      writeFileSync(join(dir, p), text)
    }
    const envList =
      l.env === '~'
        ? undefined
        : l.env
            ?.split(':')
            .map((p) => (p ? join(dir, p) : ''))
            .join(':')
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir }
    if (envList !== undefined) env.KUBECONFIG = envList
    const flagPath = l.flag ? join(dir, l.flag) : undefined
    const args = [
      ...(flagPath ? ['--kubeconfig', flagPath] : []),
      ...(l.context ? ['--context', l.context] : []),
      'config',
      'view',
      '--minify',
      '--raw',
      '-o',
      'json',
    ]
    const k = spawnSync(KUBECTL, args, { env, encoding: 'utf8' })

    // edgecanary: the same resolution the cluster adapter uses, with the same environment
    process.env.HOME = dir
    if (envList === undefined) delete process.env.KUBECONFIG
    else process.env.KUBECONFIG = envList
    let ours: { server: string; user: unknown; namespace?: string; context: string } | Error
    try {
      const c = connectCluster({ kubeconfig: flagPath, context: l.context })
      const r = resolveKubeconfig(mergeKubeconfigFiles(kubeconfigFiles(flagPath).files), l.context)
      if ('error' in r) throw new Error(r.error)
      ours = {
        server: r.cluster.body.server as string,
        user: r.user?.body,
        namespace: c.contextNamespace,
        context: r.context,
      }
      expect(c.where).toBe(`context ${r.context} (${r.cluster.body.server})`)
    } catch (err) {
      ours = err as Error
    }

    if (k.status !== 0) {
      expect(ours, `kubectl refused (${k.stderr.trim()}) but edgecanary resolved`).toBeInstanceOf(Error)
      return
    }
    if (ours instanceof Error) throw new Error(`kubectl resolved, edgecanary refused: ${ours.message}`)
    const view = JSON.parse(k.stdout) as {
      'current-context': string
      clusters: { cluster: { server: string } }[]
      users: { user: unknown }[]
      contexts: { context: { namespace?: string } }[]
    }
    expect({
      context: view['current-context'],
      server: view.clusters[0].cluster.server,
      user: view.users[0]?.user,
      namespace: view.contexts[0].context.namespace,
    }).toEqual({ context: ours.context, server: ours.server, user: ours.user, namespace: ours.namespace })
  })
})

describe('kubeconfig writes go where kubectl writes', () => {
  const root = mkdtempSync(join(tmpdir(), 'ec-kcfgw-'))
  afterAll(() => rmSync(root, { recursive: true, force: true }))
  const sandbox = file({
    clusters: [cluster('edgecanary-sandbox', 'https://127.0.0.1:16443')],
    users: [user('edgecanary-sandbox', 'sandbox-token')],
    contexts: [context('edgecanary-sandbox', 'edgecanary-sandbox', 'edgecanary-sandbox')],
  })

  /** The same merge done by kubectl's own `config set-*` commands, in another copy of the files. */
  function kubectlMerge(env: NodeJS.ProcessEnv, flag?: string) {
    const k = (...a: string[]) =>
      execFileSync(KUBECTL, [...(flag ? ['--kubeconfig', flag] : []), 'config', ...a], { env, stdio: 'pipe' })
    k('set-cluster', 'edgecanary-sandbox', '--server=https://127.0.0.1:16443')
    k('set-credentials', 'edgecanary-sandbox', '--token=sandbox-token')
    k('set-context', 'edgecanary-sandbox', '--cluster=edgecanary-sandbox', '--user=edgecanary-sandbox')
    k('use-context', 'edgecanary-sandbox')
  }

  const cases: { name: string; files: Record<string, string>; env: string; flag?: string }[] = [
    { name: 'a missing first file: the first existing one is written', files: { b: B, c: A }, env: 'a:b:c' },
    {
      name: 'an entry the second file already defines is changed there',
      files: {
        a: A,
        b: `${B}`.replace('clusters:\n', `clusters:\n${cluster('edgecanary-sandbox', 'https://old:1')}`),
      },
      env: 'a:b',
    },
    { name: 'no file exists: the last of the list is created', files: {}, env: 'x:y' },
    { name: '--kubeconfig: that file only', files: { a: A, b: B }, env: 'a', flag: 'b' },
  ]

  it.each(cases.map((c, i) => [c.name, c, i] as const))('%s', (_n, c, i) => {
    const snapshot = (dir: string) =>
      Object.fromEntries(
        ['a', 'b', 'c', 'x', 'y'].map((p) => [
          p,
          existsSync(join(dir, p)) ? readFileSync(join(dir, p), 'utf8') : null,
        ]),
      )
    const ours = join(root, `${i}-ours`)
    const theirs = join(root, `${i}-kubectl`)
    for (const d of [ours, theirs]) {
      mkdirSync(d, { recursive: true })
      for (const [p, text] of Object.entries(c.files)) writeFileSync(join(d, p), text)
    }
    const before = snapshot(ours)
    const envOf = (d: string) => ({
      PATH: process.env.PATH,
      HOME: d,
      KUBECONFIG: c.env
        .split(':')
        .map((p) => join(d, p))
        .join(':'),
    })
    kubectlMerge(envOf(theirs), c.flag && join(theirs, c.flag))
    mergeIntoKubeconfig(c.flag && join(ours, c.flag), sandbox, 'edgecanary-sandbox', envOf(ours))

    // the same files changed, and kubectl resolves the same thing from both copies
    const changed = (d: string) =>
      Object.entries(snapshot(d))
        .filter(([p, t]) => t !== before[p])
        .map(([p]) => p)
    expect(changed(ours)).toEqual(changed(theirs))
    const view = (d: string) =>
      execFileSync(
        KUBECTL,
        [
          ...(c.flag ? ['--kubeconfig', join(d, c.flag)] : []),
          'config',
          'view',
          '--minify',
          '--raw',
          '-o',
          'json',
        ],
        {
          env: envOf(d),
          encoding: 'utf8',
        },
      )
    expect(JSON.parse(view(ours))).toEqual(JSON.parse(view(theirs)))
    for (const p of changed(ours)) expect(statSync(join(ours, p)).mode & 0o777).toBe(0o600)

    // and sandbox down takes it all away again, from the files that hold it
    expect(removeContextFromKubeconfig(c.flag && join(ours, c.flag), 'edgecanary-sandbox', envOf(ours))).toBe(
      true,
    )
    const after = execFileSync(KUBECTL, ['config', 'get-contexts', '-o', 'name'], {
      env: envOf(ours),
      encoding: 'utf8',
    })
    expect(after.split('\n')).not.toContain('edgecanary-sandbox')
  })

  it('keeps comments, unknown fields and other entries of the file it changes', () => {
    const dir = join(root, 'comments')
    mkdirSync(dir)
    const path = join(dir, 'config')
    const text = `# my clusters — edited by hand\napiVersion: v1\nkind: Config\nclusters:\n  # the Pi at home\n${cluster('pi', 'https://10.0.0.1:6443')}users:\n${user('admin', 'tok')}contexts:\n${context('pi', 'pi', 'admin', 'production')}current-context: pi\nextensions:\n  - name: my-tool\n    extension: { keep: me }\n`
    writeFileSync(path, text, { mode: 0o644 })
    mergeIntoKubeconfig(path, sandbox, 'edgecanary-sandbox')
    const out = readFileSync(path, 'utf8')
    expect(out).toContain('# my clusters — edited by hand')
    expect(out).toContain('# the Pi at home')
    expect(out).toContain('keep: me')
    expect(statSync(path).mode & 0o777).toBe(0o600)
    removeContextFromKubeconfig(path, 'edgecanary-sandbox')
    const back = readFileSync(path, 'utf8')
    expect(back).toContain('# the Pi at home')
    expect(back).not.toContain('edgecanary-sandbox')
    const all = JSON.parse(
      execFileSync(KUBECTL, ['--kubeconfig', path, 'config', 'view', '-o', 'json'], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH },
      }),
    ) as { contexts: { name: string }[] }
    expect(all.contexts.map((c) => c.name)).toEqual(['pi'])
  })
})
