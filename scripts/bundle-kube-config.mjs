// Part of `npm run build`, after tsc: replaces dist/adapters/kube-config.js (a re-export of
// client-node's KubeConfig) with one self-contained ESM file. Importing client-node's index
// evaluates ~970 modules (0.45 s on every command start); the tree-shaken bundle of KubeConfig
// and what it uses loads in about 70 ms. client-node stays a dependency: this is its own code.
import { rmSync } from 'node:fs'
import { build } from 'esbuild'

const file = 'dist/adapters/kube-config.js'
await build({
  entryPoints: [file],
  outfile: file,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // CommonJS dependencies inside the bundle call require() for Node's built-ins
  banner: {
    js: "import { createRequire as __ecCreateRequire } from 'node:module'; const require = __ecCreateRequire(import.meta.url);",
  },
  legalComments: 'eof',
  logLevel: 'warning',
})
rmSync(`${file}.map`, { force: true })
