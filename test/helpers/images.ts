import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pack } from 'tar-stream'
import { buildAndPush } from '../../src/build/index.js'
import { digestOf, gzipReproducible, MEDIA } from '../../src/build/oci-image.js'
import { RegistryClient } from '../../src/registry/client.js'
import { repoRoot, type TestSandbox } from './sandbox.js'

/** Builds sample-app at `version` for `platforms` and pushes it to the sandbox registry; returns `repo:tag@digest`. */
export async function pushSampleApp(
  sb: TestSandbox,
  version: string,
  platforms = ['linux/arm64'],
): Promise<string> {
  const r = await buildAndPush({
    source: join(repoRoot, 'sample-app'),
    version,
    repo: `${sb.registry}/kubeapp`,
    platforms,
    cacheDir: join(sb.home, 'cache'),
  })
  return r.image
}

/**
 * Debian's static arm64 busybox (busybox-static:arm64, fetched once with `apt-get download`
 * into .tmp and unpacked with dpkg-deb), as the bytes of its binary.
 */
export function debianArm64Busybox(): Buffer {
  const dir = join(repoRoot, '.tmp', 'busybox-static-arm64')
  const bin = join(dir, 'bin', 'busybox')
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true })
    const dl = spawnSync('apt-get', ['download', 'busybox-static:arm64'], { cwd: dir, encoding: 'utf8' })
    const deb = readdirSync(dir).find((f) => f.endsWith('.deb'))
    if (!deb)
      throw new Error(
        `apt-get download busybox-static:arm64 failed (${dl.stderr.trim()}); run: sudo dpkg --add-architecture arm64 && sudo apt-get update`,
      )
    execFileSync('dpkg-deb', ['-x', join(dir, deb), dir])
  }
  return readFileSync(bin)
}

/**
 * An arm64 OCI image of Debian's static busybox, pushed to the sandbox registry as
 * `busybox:<tag>`: /bin/busybox with /bin/sh as a symlink to it, /www/index.html (`www`), an
 * /etc/passwd naming `www` as uid 33, Entrypoint `/bin/busybox`, `config` merged over that.
 */
export async function pushBusybox(
  sb: TestSandbox,
  tag: string,
  www: string,
  config: Record<string, unknown> = {},
): Promise<string> {
  const busybox = debianArm64Busybox()
  const p = pack()
  const chunks: Buffer[] = []
  p.on('data', (c: unknown) => chunks.push(c as Buffer))
  const done = new Promise<void>((resolve) => p.on('end', () => resolve()))
  const mtime = new Date(0)
  for (const d of ['bin/', 'etc/', 'tmp/', 'www/'])
    p.entry({ name: d, type: 'directory', mode: d === 'tmp/' ? 0o1777 : 0o755, mtime })
  p.entry({ name: 'bin/busybox', mode: 0o755, mtime }, busybox)
  p.entry({ name: 'bin/sh', type: 'symlink', linkname: 'busybox', mtime })
  p.entry(
    { name: 'etc/passwd', mode: 0o644, mtime },
    'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/www:/bin/sh\n',
  )
  p.entry({ name: 'www/index.html', mode: 0o644, mtime }, www)
  p.finalize()
  await done
  const layer = gzipReproducible(Buffer.concat(chunks))
  const configDoc = {
    architecture: 'arm64',
    os: 'linux',
    config: { Entrypoint: ['/bin/busybox'], Env: ['PATH=/bin'], WorkingDir: '/', ...config },
    rootfs: { type: 'layers', diff_ids: [digestOf(Buffer.concat(chunks))] },
  }
  const configBytes = Buffer.from(JSON.stringify(configDoc))
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      config: { mediaType: MEDIA.config, digest: digestOf(configBytes), size: configBytes.length },
      layers: [{ mediaType: MEDIA.layer, digest: digestOf(layer), size: layer.length }],
    }),
  )
  const client = new RegistryClient({ registry: sb.registry, repository: 'busybox' })
  for (const b of [layer, configBytes]) await client.uploadBlob(digestOf(b), b)
  await client.putManifest(tag, MEDIA.manifest, manifest)
  return `${sb.registry}/busybox:${tag}@${digestOf(manifest)}`
}
