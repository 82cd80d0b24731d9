// esbuild plugins and build facts shared by scripts/bundle.mjs (dist/ for npm) and
// scripts/build-sea.mjs (the single-file executable).
import { execFileSync } from 'node:child_process'
import { dirname, join } from 'node:path'

// client-node's KubeConfig imports two names from its generated API client's index, which
// re-exports all ~600 KiB of API classes and models; only makeApiClient (unused here) needs
// them. Importing those two names from the files that define them keeps the rest out.
export const narrowGenIndex = {
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
export const lazyClientNodeDeps = {
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

// The commit `edgecanary version` reports ('' outside a git checkout), `-dirty` with uncommitted changes.
export function gitCommit() {
  const git = (...args) =>
    execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  try {
    const head = git('rev-parse', 'HEAD')
    return git('status', '--porcelain', '--untracked-files=no') ? `${head}-dirty` : head
  } catch {
    return ''
  }
}
