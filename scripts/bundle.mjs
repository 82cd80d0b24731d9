// Part of `npm run build`, after `tsc --noEmit`: esbuild bundles oclif's entry (src/main.ts, run
// by bin/run.js) and each command and hook from src/ into dist/; code shared by several goes to
// dist/chunks/. Node's ESM and CommonJS loaders paid for every file: a release opened ~380
// modules before its first API call (zod 95, yaml 72, @oclif/core 65, semver 47; client-node's
// index ~970 before KubeConfig was bundled on its own). @oclif/core is in the bundle, so the
// entry, the commands and the hooks share one copy of it. Left outside: the packages with
// native parts (ssh2, dockerode), imported only where they are used, and the TypeScript
// loaders oclif requires only to run commands from .ts sources.
import { execFileSync } from 'node:child_process'
import { readdirSync, rmSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { build } from 'esbuild'

// client-node's KubeConfig imports two names from its generated API client's index, which
// re-exports all ~600 KiB of API classes and models; only makeApiClient (unused here) needs
// them. Importing those two names from the files that define them keeps the rest out.
const narrowGenIndex = {
  name: 'client-node-gen-index',
  setup(b) {
    b.onResolve({ filter: /^\.\/gen\/index\.js$/ }, (args) =>
      args.importer.endsWith(join('@kubernetes', 'client-node', 'dist', 'config.js'))
        ? { path: join(dirname(args.importer), 'gen'), namespace: 'client-node-gen' }
        : undefined,
    )
    b.onLoad({ filter: /.*/, namespace: 'client-node-gen' }, (args) => ({
      contents: [
        `export { createConfiguration } from ${JSON.stringify(join(args.path, 'configuration.js'))}`,
        `export { ServerConfiguration } from ${JSON.stringify(join(args.path, 'servers.js'))}`,
      ].join('\n'),
      resolveDir: args.path,
    }))
  },
}

// KubeConfig's file imports, at its top, packages it needs only for kubeconfigs that ask for
// them: a SOCKS or HTTP proxy (socks-proxy-agent, hpagent), the OIDC and cloud auth providers
// (openid-client, jsonpath-plus), and node-fetch (the Headers of applyToFetchOptions, and the
// fetch of the generated client's configuration, both unused here). Each was evaluated at
// every start (node-fetch brings whatwg-url and tr46's Unicode table): ~10 ms of one core
// before the first API call. Here each import from client-node is a small module whose names
// require() the package at their first use; esbuild keeps such a require() lazy.
const lazyOnFirstUse = {
  'node-fetch': { classes: ['Headers'], defaultFunction: true },
  'socks-proxy-agent': { classes: ['SocksProxyAgent'] },
  hpagent: { classes: ['HttpProxyAgent', 'HttpsProxyAgent'] },
  'openid-client': { functions: ['discovery', 'refreshTokenGrant'] },
  'jsonpath-plus': { functions: ['JSONPath'] },
}
const lazyClientNodeDeps = {
  name: 'client-node-lazy-deps',
  setup(b) {
    const clientNode = join('@kubernetes', 'client-node', 'dist')
    b.onResolve({ filter: /^(node-fetch|socks-proxy-agent|hpagent|openid-client|jsonpath-plus)$/ }, (args) =>
      args.namespace === 'file' && args.importer.includes(clientNode)
        ? { path: args.path, namespace: 'lazy-dep', pluginData: { resolveDir: args.resolveDir } }
        : undefined,
    )
    b.onLoad({ filter: /.*/, namespace: 'lazy-dep' }, (args) => {
      const { classes = [], functions = [], defaultFunction } = lazyOnFirstUse[args.path]
      const pkg = JSON.stringify(args.path)
      return {
        contents: [
          `let m; const load = () => (m ??= require(${pkg}));`,
          ...classes.map((c) => `export function ${c}(...a) { return new (load().${c})(...a) }`),
          ...functions.map((f) => `export function ${f}(...a) { return load().${f}(...a) }`),
          ...(defaultFunction ? ['export default function (...a) { return load().default(...a) }'] : []),
        ].join('\n'),
        resolveDir: args.pluginData.resolveDir,
      }
    })
  },
}

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return sources(p)
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : []
  })
}

const entryPoints = Object.fromEntries(
  ['src/main.ts', ...sources('src/commands'), ...sources('src/hooks')].map((f) => [
    relative('src', f).replace(/\.ts$/, ''),
    f,
  ]),
)
// The commit `edgecanary version` reports ('' outside a git checkout), `-dirty` with uncommitted changes.
function gitCommit() {
  const git = (...args) =>
    execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  try {
    const head = git('rev-parse', 'HEAD')
    return git('status', '--porcelain', '--untracked-files=no') ? `${head}-dirty` : head
  } catch {
    return ''
  }
}

rmSync('dist', { recursive: true, force: true })
await build({
  entryPoints,
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'bundle',
  external: ['ssh2', 'dockerode', 'cpu-features', 'typescript', 'ts-node', 'tsx'],
  // CommonJS dependencies inside the bundle call require() for Node's built-ins
  banner: {
    js: "import { createRequire as __ecCreateRequire } from 'node:module'; const require = __ecCreateRequire(import.meta.url);",
  },
  define: { __EDGECANARY_COMMIT__: JSON.stringify(process.env.EDGECANARY_COMMIT ?? gitCommit()) },
  // no source maps in the package (they doubled dist/); EDGECANARY_SOURCEMAP=1 for debugging
  sourcemap: process.env.EDGECANARY_SOURCEMAP ? 'linked' : false,
  sourcesContent: false,
  legalComments: 'eof',
  logLevel: 'warning',
  plugins: [narrowGenIndex, lazyClientNodeDeps],
})
