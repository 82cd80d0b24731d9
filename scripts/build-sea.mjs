// `npm run build:sea`: the single-file executable dist/edgecanary-linux-<arch>, made from this
// machine's own node with Node's single executable applications (SEA):
//   1. esbuild bundles src/sea/main.ts and every command into one CommonJS script (Node 20's SEA
//      runs one CommonJS script, which can require only Node's built-in modules, so ssh2 and
//      dockerode are bundled too; their optional native parts are left out, as npm leaves them
//      unbuilt), with an explicit command registry (oclif cannot import command files here);
//   2. package.json (commands: explicit), oclif.manifest.json, templates/, sample-app/ and LICENSE
//      become one asset that the executable extracts to EDGECANARY_HOME/sea/ when it starts;
//   3. `node --experimental-sea-config` writes the blob, postject injects it into a copy of node.
// Needs a fresh oclif.manifest.json (`npm run build` makes it). `--out DIR` writes elsewhere than
// dist/ (the test builds into a temporary directory).
import { execFileSync } from 'node:child_process'
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { build } from 'esbuild'
import { gitCommit, lazyClientNodeDeps, narrowGenIndex } from './esbuild-plugins.mjs'

const root = resolve(import.meta.dirname, '..')
const outArg = process.argv.indexOf('--out')
const out = resolve(outArg > 0 ? process.argv[outArg + 1] : join(root, 'dist'))
const work = join(out, 'sea')
mkdirSync(work, { recursive: true })

function files(dir, keep = () => true) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return files(p, keep)
    return keep(p) ? [p] : []
  })
}

// 1. one CommonJS script with every command, keyed by oclif id (sandbox/up.ts → sandbox:up)
const commandsDir = join(root, 'src', 'commands')
const commands = files(commandsDir, (p) => p.endsWith('.ts') && !p.endsWith('.test.ts')).sort()
const entry = [
  `import { runSea } from ${JSON.stringify(join(root, 'src', 'sea', 'main.ts'))}`,
  ...commands.map((f, i) => `import C${i} from ${JSON.stringify(f)}`),
  `import notFound from ${JSON.stringify(join(root, 'src', 'hooks', 'command-not-found.ts'))}`,
  'void runSea({',
  ...commands.map(
    (f, i) =>
      `  ${JSON.stringify(relative(commandsDir, f).replace(/\.ts$/, '').split('/').join(':'))}: C${i},`,
  ),
  '}, notFound)',
].join('\n')
// ssh2 requires its optional native parts inside try/catch, and would work without them; in an
// executable such a require() of a file costs a warning on every start, so they throw at once
const noNativeParts = {
  name: 'no-native-parts',
  setup(b) {
    b.onResolve({ filter: /^cpu-features$|\.node$/ }, (args) => ({ path: args.path, namespace: 'no-native' }))
    b.onLoad({ filter: /.*/, namespace: 'no-native' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is not part of the single-file executable`)})`,
    }))
  },
}
// dockerode's BuildKit session reads its .proto files beside its own sources (`__dirname`), which
// an executable does not have: they travel with the other files (dockerode/proto/ below)
const dockerodeProtos = {
  name: 'dockerode-protos',
  setup(b) {
    b.onLoad({ filter: /[\\/]dockerode[\\/]lib[\\/](session|buildkit)\.js$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replaceAll(
        'path.resolve(__dirname, "proto"',
        'path.resolve(process.env.EDGECANARY_PACKAGE_ROOT, "dockerode", "proto"',
      ),
      loader: 'js',
    }))
  },
}
const script = join(work, 'edgecanary.cjs')
await build({
  stdin: { contents: entry, resolveDir: root, sourcefile: 'sea-entry.ts', loader: 'ts' },
  outfile: script,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // oclif's TypeScript loaders, required only to run commands from .ts sources
  external: ['typescript', 'ts-node', 'tsx'],
  define: {
    __EDGECANARY_SEA__: 'true',
    // oclif reads the package.json above its own file to check node's version: there is none, and
    // this node is the one the executable was built with
    'process.env.OCLIF_DISABLE_ENGINE_WARNING': '"1"',
    // ws (exec and port-forward) would require() its optional native helpers, which an
    // executable cannot load: Node then warns on stderr at every start
    'process.env.WS_NO_BUFFER_UTIL': '"1"',
    'process.env.WS_NO_UTF_8_VALIDATE': '"1"',
    __EDGECANARY_COMMIT__: JSON.stringify(process.env.EDGECANARY_COMMIT ?? gitCommit()),
  },
  legalComments: 'eof',
  logLevel: 'error',
  plugins: [narrowGenIndex, lazyClientNodeDeps, noNativeParts, dockerodeProtos],
})

// 2. the files, one JSON asset
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const manifestFile = join(root, 'oclif.manifest.json')
const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'))
if (manifest.version !== pkg.version)
  throw new Error('oclif.manifest.json is stale: run `npm run build` first')
const seaPkg = {
  name: pkg.name,
  version: pkg.version,
  description: pkg.description,
  license: pkg.license,
  type: 'commonjs',
  oclif: {
    ...pkg.oclif,
    // src/sea/main.ts hands oclif the classes; plugins and hooks are files it cannot import here
    commands: { strategy: 'explicit', target: './sea-commands.js', identifier: 'COMMANDS' },
    plugins: [],
    hooks: {},
  },
}
const protoDir = join(dirname(createRequire(import.meta.url).resolve('dockerode')), 'proto')
const asset = {
  version: pkg.version,
  files: [
    {
      path: 'package.json',
      mode: 0o644,
      data: Buffer.from(JSON.stringify(seaPkg, null, 2)).toString('base64'),
    },
    ...[
      manifestFile,
      join(root, 'LICENSE'),
      ...files(join(root, 'templates')),
      ...files(join(root, 'sample-app'), (p) => p !== join(root, 'sample-app', 'sample-app')),
    ].map((p) => ({
      path: relative(root, p),
      mode: statSync(p).mode & 0o777,
      data: readFileSync(p).toString('base64'),
    })),
    ...files(join(protoDir)).map((p) => ({
      path: join('dockerode', 'proto', relative(protoDir, p)),
      mode: statSync(p).mode & 0o777,
      data: readFileSync(p).toString('base64'),
    })),
  ],
}
const assetFile = join(work, 'edgecanary-files.json')
writeFileSync(assetFile, JSON.stringify(asset))

// 3. blob, injected into a copy of this node
const configFile = join(work, 'sea-config.json')
const blob = join(work, 'sea-prep.blob')
writeFileSync(
  configFile,
  JSON.stringify(
    {
      main: script,
      output: blob,
      disableExperimentalSEAWarning: true,
      assets: { 'edgecanary-files.json': assetFile },
    },
    null,
    2,
  ),
)
execFileSync(process.execPath, ['--experimental-sea-config', configFile], {
  stdio: ['ignore', 'ignore', 'inherit'],
})
const exe = join(out, `edgecanary-${process.platform}-${process.arch}`)
copyFileSync(process.execPath, exe)
chmodSync(exe, 0o755)
const postject = createRequire(import.meta.url).resolve('postject/dist/cli.js')
execFileSync(
  process.execPath,
  [postject, exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'],
  { stdio: ['ignore', 'ignore', 'inherit'] },
)
process.stdout.write(`${exe}\n`)
