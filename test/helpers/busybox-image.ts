import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pack } from 'tar-stream'
import { digestOf, gzipReproducible, MEDIA } from '../../src/build/oci-image.js'
import { RegistryClient } from '../../src/registry/client.js'
import { repoRoot } from './sandbox.js'

/**
 * The applets linked beside /bin/busybox. The first seven are what our tests run; `true`,
 * `false`, `seq` and `gzip` are what the Kubernetes Python client's e2e suite execs in a
 * `busybox` pod; `httpd` and `stty` what the container tests run by name.
 */
export const BUSYBOX_APPLETS = [
  'sh',
  'cat',
  'sleep',
  'date',
  'ls',
  'uptime',
  'echo',
  'true',
  'false',
  'seq',
  'gzip',
  'httpd',
  'stty',
]

/**
 * Which busybox: Debian's static arm64 one (busybox-static:arm64), or Debian's dynamically
 * linked one (busybox:ARCH) with its loader and libraries from libc6:ARCH in the image.
 */
export type BusyboxFlavor = 'static-arm64' | 'dynamic-arm64' | 'dynamic-amd64'

/** Where the dynamic loader and libraries of Debian's libc6 live per architecture. */
const DYNAMIC: Record<string, { triplet: string; loader: string; interp: string }> = {
  arm64: {
    triplet: 'aarch64-linux-gnu',
    loader: 'ld-linux-aarch64.so.1',
    interp: 'lib/ld-linux-aarch64.so.1',
  },
  amd64: {
    triplet: 'x86_64-linux-gnu',
    loader: 'ld-linux-x86-64.so.2',
    interp: 'lib64/ld-linux-x86-64.so.2',
  },
}

/**
 * Debian packages `pkgs` (e.g. `busybox-static:arm64`) unpacked once into `.tmp/<dir>`, as
 * scripts/system-deps.sh does for `test`: `apt-get download` and `dpkg-deb -x`. As root it adds
 * a foreign architecture to dpkg and refreshes the package lists when needed. Returns the dir.
 */
export function debianUnpacked(dir: string, pkgs: string[], marker: string): string {
  const out = join(repoRoot, '.tmp', dir)
  if (existsSync(join(out, marker))) return out
  const work = join(repoRoot, '.tmp', `${dir}-download`)
  rmSync(work, { recursive: true, force: true })
  mkdirSync(work, { recursive: true })
  const download = () => execFileSync('apt-get', ['download', ...pkgs], { cwd: work, stdio: 'pipe' })
  try {
    download()
  } catch (err) {
    if (process.getuid?.() !== 0) {
      throw new Error(
        `cannot download ${pkgs.join(' ')} (${(err as Error).message.split('\n')[0]}); run as root: bash scripts/system-deps.sh test`,
      )
    }
    const foreign = execFileSync('dpkg', ['--print-foreign-architectures'], { encoding: 'utf8' }).split('\n')
    for (const arch of new Set(pkgs.map((p) => p.split(':')[1]).filter(Boolean)))
      if (arch !== hostDpkgArch() && !foreign.includes(arch))
        execFileSync('dpkg', ['--add-architecture', arch])
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'pipe' })
    download()
  }
  for (const deb of readdirSync(work).filter((f) => f.endsWith('.deb')))
    execFileSync('dpkg-deb', ['-x', join(work, deb), out])
  rmSync(work, { recursive: true, force: true })
  if (!existsSync(join(out, marker))) throw new Error(`apt-get download ${pkgs.join(' ')} left no ${marker}`)
  return out
}

function hostDpkgArch(): string {
  return execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim()
}

/** Path of Debian's static arm64 busybox, unpacked into .tmp/busybox-static-arm64. */
export function busyboxBinary(): string {
  return join(
    debianUnpacked('busybox-static-arm64', ['busybox-static:arm64'], 'bin/busybox'),
    'bin',
    'busybox',
  )
}

interface Blob {
  mediaType: string
  digest: string
  size: number
  bytes: Buffer
}
const blob = (mediaType: string, bytes: Buffer): Blob => ({
  mediaType,
  digest: digestOf(bytes),
  size: bytes.length,
  bytes,
})

type Entry = {
  name: string
  type: 'directory' | 'file' | 'symlink'
  mode: number
  data?: Buffer
  link?: string
}

/** The files of a flavor: /bin/busybox, and for a dynamic one its loader and libraries. */
function flavorEntries(flavor: BusyboxFlavor): { entries: Entry[]; arch: string } {
  if (flavor === 'static-arm64')
    return {
      arch: 'arm64',
      entries: [{ name: 'bin/busybox', type: 'file', mode: 0o755, data: readFileSync(busyboxBinary()) }],
    }
  const arch = flavor === 'dynamic-arm64' ? 'arm64' : 'amd64'
  const d = DYNAMIC[arch]
  const root = debianUnpacked(
    `busybox-dynamic-${arch}`,
    [`busybox:${arch}`, `libc6:${arch}`],
    `lib/${d.triplet}/libc.so.6`,
  )
  const lib = (f: string) => readFileSync(realpathSync(join(root, 'lib', d.triplet, f)))
  const entries: Entry[] = [
    { name: 'bin/busybox', type: 'file', mode: 0o755, data: readFileSync(join(root, 'bin', 'busybox')) },
    { name: 'lib/', type: 'directory', mode: 0o755 },
    { name: `lib/${d.triplet}/`, type: 'directory', mode: 0o755 },
    // what `readelf -d` names as NEEDED for Debian's busybox, and the loader (its PT_INTERP)
    { name: `lib/${d.triplet}/${d.loader}`, type: 'file', mode: 0o755, data: lib(d.loader) },
    { name: `lib/${d.triplet}/libc.so.6`, type: 'file', mode: 0o755, data: lib('libc.so.6') },
    { name: `lib/${d.triplet}/libresolv.so.2`, type: 'file', mode: 0o644, data: lib('libresolv.so.2') },
  ]
  if (d.interp.startsWith('lib64/')) entries.push({ name: 'lib64/', type: 'directory', mode: 0o755 })
  // the interpreter path as Debian lays it out: a symlink into the multiarch directory
  entries.push({
    name: d.interp,
    type: 'symlink',
    mode: 0o777,
    link: d.interp.startsWith('lib64/') ? `../lib/${d.triplet}/${d.loader}` : `${d.triplet}/${d.loader}`,
  })
  return { arch, entries }
}

export interface BusyboxImageOptions {
  flavor?: BusyboxFlavor
  applets?: string[]
  /** More files, path → content (e.g. `www/index.html`); their directories are created. */
  files?: Record<string, string>
  /** Merged over the image config's `config` (e.g. `{ Entrypoint: ['/bin/busybox'] }`). */
  config?: Record<string, unknown>
}

/**
 * A `busybox` image as Docker Hub's is laid out: /bin/busybox with its applets as symlinks
 * (`bin/sh -> busybox`), /tmp, /etc/passwd for root and nobody, `Cmd ["sh"]`, PATH set, user
 * root; a dynamic flavor adds /lib/<triplet>/ with the loader, libc and libresolv and the
 * loader's PT_INTERP path. Reproducible: the same inputs give the same digests.
 */
export async function busyboxImage(
  opts: BusyboxImageOptions = {},
): Promise<{ layer: Blob; config: Blob; manifest: Blob }> {
  const { entries, arch } = flavorEntries(opts.flavor ?? 'static-arm64')
  const p = pack()
  const chunks: Buffer[] = []
  p.on('data', (c: unknown) => chunks.push(c as Buffer))
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', () => resolve())
    p.on('error', reject)
  })
  const owner = { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: new Date(0) }
  const passwd = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n'
  const all: Entry[] = [
    { name: 'bin/', type: 'directory', mode: 0o755 },
    ...entries,
    ...[...(opts.applets ?? BUSYBOX_APPLETS)]
      .sort()
      .map((a): Entry => ({ name: `bin/${a}`, type: 'symlink', mode: 0o777, link: 'busybox' })),
    { name: 'etc/', type: 'directory', mode: 0o755 },
    { name: 'etc/passwd', type: 'file', mode: 0o644, data: Buffer.from(passwd) },
    { name: 'root/', type: 'directory', mode: 0o700 },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
  ]
  const dirs = new Set(all.filter((e) => e.type === 'directory').map((e) => e.name))
  for (const [path, text] of Object.entries(opts.files ?? {}).sort()) {
    const parts = path.split('/')
    for (let i = 1; i < parts.length; i++) {
      const d = `${parts.slice(0, i).join('/')}/`
      if (!dirs.has(d)) all.push({ name: d, type: 'directory', mode: 0o755 })
      dirs.add(d)
    }
    all.push({ name: path, type: 'file', mode: 0o644, data: Buffer.from(text) })
  }
  for (const e of all) {
    if (e.type === 'file') {
      const data = e.data ?? Buffer.alloc(0)
      p.entry({ name: e.name, type: 'file', mode: e.mode, size: data.length, ...owner }, data)
    } else if (e.type === 'symlink')
      p.entry({ name: e.name, type: 'symlink', linkname: e.link, mode: e.mode, ...owner })
    else p.entry({ name: e.name, type: 'directory', mode: e.mode, ...owner })
  }
  p.finalize()
  await done
  const tar = Buffer.concat(chunks)
  const layer = blob(MEDIA.layer, gzipReproducible(tar))
  const config = blob(
    MEDIA.config,
    Buffer.from(
      JSON.stringify({
        architecture: arch,
        os: 'linux',
        ...(arch === 'arm64' ? { variant: 'v8' } : {}),
        created: '1970-01-01T00:00:00Z',
        config: {
          Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
          Cmd: ['sh'],
          ...opts.config,
        },
        rootfs: { type: 'layers', diff_ids: [digestOf(tar)] },
        history: [
          {
            created: '1970-01-01T00:00:00Z',
            created_by: `Debian busybox, ${opts.flavor ?? 'static-arm64'} (edgecanary test image)`,
          },
        ],
      }),
    ),
  )
  const manifest = blob(
    MEDIA.manifest,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.manifest,
        config: { mediaType: MEDIA.config, digest: config.digest, size: config.size },
        layers: [{ mediaType: MEDIA.layer, digest: layer.digest, size: layer.size }],
      }),
    ),
  )
  return { layer, config, manifest }
}

/**
 * Builds a busybox image and pushes it to `registry` (host:port), by default as
 * `library/busybox:latest`, where a `docker.io` mirror finds Docker Hub's `busybox`. Returns
 * `registry/repository:tag@digest`.
 *
 *   await pushBusybox(sb.registry, { repository: 'busybox', tag: 'www', files: { 'www/index.html': 'hi\n' } })
 *     → '127.0.0.1:5000/busybox:www@sha256:…'
 */
export async function pushBusybox(
  registry: string,
  opts: BusyboxImageOptions & { repository?: string; tag?: string } = {},
): Promise<string> {
  const img = await busyboxImage(opts)
  const repository = opts.repository ?? 'library/busybox'
  const tag = opts.tag ?? 'latest'
  const client = new RegistryClient({ registry, repository })
  for (const b of [img.layer, img.config])
    if (!(await client.hasBlob(b.digest))) await client.uploadBlob(b.digest, b.bytes)
  await client.putManifest(tag, img.manifest.mediaType, img.manifest.bytes)
  return `${registry}/${repository}:${tag}@${img.manifest.digest}`
}
