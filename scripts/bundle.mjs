// Part of `npm run build`, after `tsc --noEmit`: esbuild bundles oclif's entry (src/main.ts, run
// by bin/run.js) and each command and hook from src/ into dist/; code shared by several goes to
// dist/chunks/. Node's ESM and CommonJS loaders paid for every file: a release opened ~380
// modules before its first API call (zod 95, yaml 72, @oclif/core 65, semver 47; client-node's
// index ~970 before KubeConfig was bundled on its own). @oclif/core is in the bundle, so the
// entry, the commands and the hooks share one copy of it. Left outside: the packages with
// native parts (ssh2, dockerode), imported only where they are used, and the TypeScript
// loaders oclif requires only to run commands from .ts sources.
import { readdirSync, rmSync } from 'node:fs'
import { join, relative } from 'node:path'
import { build } from 'esbuild'
import { gitCommit, lazyClientNodeDeps, narrowGenIndex } from './esbuild-plugins.mjs'

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
