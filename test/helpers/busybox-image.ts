import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pack } from 'tar-stream'
import { digestOf, gzipReproducible, MEDIA } from '../../src/build/oci-image.js'
import { RegistryClient } from '../../src/registry/client.js'
import { repoRoot } from './sandbox.js'

/**
 * The applets linked beside /bin/busybox. The first seven are what our tests run; `true`,
 * `false`, `seq` and `gzip` are what the Kubernetes Python client's e2e suite execs in a
 * `busybox` pod.
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
]

const UNPACKED = join(repoRoot, '.tmp', 'busybox-static-arm64')

/**
 * Path of Debian's static arm64 busybox, unpacked once into .tmp (as scripts/system-deps.sh
 * does for `test`): `apt-get download busybox-static:arm64` and `dpkg-deb -x`. As root it
 * adds the arm64 architecture to dpkg and refreshes the package lists when needed.
 */
export function busyboxBinary(): string {
  const bin = join(UNPACKED, 'bin', 'busybox')
  if (existsSync(bin)) return bin
  const work = join(repoRoot, '.tmp', 'busybox-download')
  rmSync(work, { recursive: true, force: true })
  mkdirSync(work, { recursive: true })
  const download = () =>
    execFileSync('apt-get', ['download', 'busybox-static:arm64'], { cwd: work, stdio: 'pipe' })
  try {
    download()
  } catch (err) {
    if (process.getuid?.() !== 0) {
      throw new Error(
        `cannot download busybox-static:arm64 (${(err as Error).message.split('\n')[0]}); run as root: bash scripts/system-deps.sh test`,
      )
    }
    const foreign = execFileSync('dpkg', ['--print-foreign-architectures'], { encoding: 'utf8' })
    if (!foreign.split('\n').includes('arm64')) execFileSync('dpkg', ['--add-architecture', 'arm64'])
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'pipe' })
    download()
  }
  const deb = readdirSync(work).find((f) => f.endsWith('.deb'))
  if (!deb) throw new Error('apt-get download busybox-static:arm64 left no .deb')
  execFileSync('dpkg-deb', ['-x', join(work, deb), UNPACKED])
  rmSync(work, { recursive: true, force: true })
  return bin
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

/**
 * A `busybox` image as Docker Hub's is laid out: /bin/busybox with its applets as symlinks
 * (`bin/sh -> busybox`), /tmp, /etc/passwd for root, `Cmd ["sh"]`, PATH set, user root.
 * Reproducible: the same binary gives the same digests.
 */
export async function busyboxImage(
  binary: Buffer,
  applets: string[] = BUSYBOX_APPLETS,
): Promise<{ layer: Blob; config: Blob; manifest: Blob }> {
  const p = pack()
  const chunks: Buffer[] = []
  p.on('data', (c: unknown) => chunks.push(c as Buffer))
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', () => resolve())
    p.on('error', reject)
  })
  const owner = { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: new Date(0) }
  p.entry({ name: 'bin/', type: 'directory', mode: 0o755, ...owner })
  p.entry({ name: 'bin/busybox', type: 'file', mode: 0o755, size: binary.length, ...owner }, binary)
  for (const a of [...applets].sort())
    p.entry({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox', mode: 0o777, ...owner })
  const passwd = Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n')
  p.entry({ name: 'etc/', type: 'directory', mode: 0o755, ...owner })
  p.entry({ name: 'etc/passwd', type: 'file', mode: 0o644, size: passwd.length, ...owner }, passwd)
  p.entry({ name: 'root/', type: 'directory', mode: 0o700, ...owner })
  p.entry({ name: 'tmp/', type: 'directory', mode: 0o1777, ...owner })
  p.finalize()
  await done
  const tar = Buffer.concat(chunks)
  const layer = blob(MEDIA.layer, gzipReproducible(tar))
  const config = blob(
    MEDIA.config,
    Buffer.from(
      JSON.stringify({
        architecture: 'arm64',
        os: 'linux',
        variant: 'v8',
        created: '1970-01-01T00:00:00Z',
        config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
        rootfs: { type: 'layers', diff_ids: [digestOf(tar)] },
        history: [
          { created: '1970-01-01T00:00:00Z', created_by: 'Debian busybox-static (edgecanary test image)' },
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
 * Builds the busybox image and pushes it to `registry` (host:port) as `library/busybox:latest`,
 * where a `docker.io` mirror finds Docker Hub's `busybox`. Returns the manifest digest.
 */
export async function pushBusybox(
  registry: string,
  opts: { repository?: string; tag?: string; applets?: string[] } = {},
): Promise<string> {
  const img = await busyboxImage(readFileSync(busyboxBinary()), opts.applets)
  const client = new RegistryClient({ registry, repository: opts.repository ?? 'library/busybox' })
  for (const b of [img.layer, img.config])
    if (!(await client.hasBlob(b.digest))) await client.uploadBlob(b.digest, b.bytes)
  await client.putManifest(opts.tag ?? 'latest', img.manifest.mediaType, img.manifest.bytes)
  return img.manifest.digest
}
