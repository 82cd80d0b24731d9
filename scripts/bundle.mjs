// Part of `npm run build`, after `tsc --noEmit`: esbuild bundles each oclif command and hook
// from src/ into dist/ (code shared by several commands goes to dist/chunks/). Node's ESM
// loader paid for every file: a release started by opening ~380 modules (zod 95, yaml 72,
// client-node's KubeConfig ~970 before it was bundled on its own). oclif itself stays
// external, so bin/run.js and the commands share one @oclif/core; so do the packages with
// native parts (ssh2, dockerode), which are imported only where they are used.
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

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return sources(p)
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : []
  })
}

const entryPoints = Object.fromEntries(
  [...sources('src/commands'), ...sources('src/hooks')].map((f) => [
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
  external: ['@oclif/core', 'ssh2', 'dockerode', 'cpu-features'],
  // CommonJS dependencies inside the bundle call require() for Node's built-ins
  banner: {
    js: "import { createRequire as __ecCreateRequire } from 'node:module'; const require = __ecCreateRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  sourcesContent: false,
  legalComments: 'eof',
  logLevel: 'warning',
  plugins: [narrowGenIndex],
})
