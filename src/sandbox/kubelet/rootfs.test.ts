import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { listeningPorts } from './pod-net.js'
import { containerArgv, containerEnv, containerUser, findExecutable, resolveInRoot } from './rootfs.js'

const root = mkdtempSync(join(tmpdir(), 'ec-rootfs-'))
mkdirSync(join(root, 'bin'))
mkdirSync(join(root, 'www'))
writeFileSync(join(root, 'bin', 'busybox'), 'elf', { mode: 0o755 })
writeFileSync(join(root, 'bin', 'data'), 'not executable', { mode: 0o644 })
symlinkSync('busybox', join(root, 'bin', 'sh'))
symlinkSync('/../../../etc', join(root, 'etc'))
symlinkSync('../../../../bin/busybox', join(root, 'climb'))

describe('resolveInRoot (symlinks and .. stop at the root, as after chroot)', () => {
  it.each([
    ['/bin/sh', '/bin/busybox'],
    ['/../../bin/sh', '/bin/busybox'],
    ['/climb', '/bin/busybox'],
    ['sh', '/bin/busybox', '/bin'],
    ['/etc', undefined], // → /etc inside the root, which does not exist; never the host's /etc
    ['/nope', undefined],
  ])('%s → %s', (path, inside, cwd = '/') => expect(resolveInRoot(root, path, cwd)?.inside).toBe(inside))
})

describe('findExecutable', () => {
  it.each([
    ['/bin/sh', { path: '/bin/sh', inside: '/bin/busybox' }],
    ['sh', { path: '/bin/sh', inside: '/bin/busybox' }],
    ['/', { error: 'exec: "/": is a directory' }],
    ['/www', { error: 'exec: "/www": is a directory' }],
    ['/bin/data', { error: 'exec: "/bin/data": stat /bin/data: no such file or directory' }],
    ['nope', { error: 'exec: "nope": executable file not found in $PATH' }],
  ])('%s → %o', (cmd, want) => expect(findExecutable(root, cmd, '/usr/bin:/bin', '/')).toMatchObject(want))
})

describe('containerArgv (Kubernetes: command replaces Entrypoint and drops Cmd; args replaces Cmd)', () => {
  const image = { Entrypoint: ['/app'], Cmd: ['serve'] }
  it.each([
    [{}, ['/app', 'serve']],
    [{ args: ['-v'] }, ['/app', '-v']],
    [{ command: ['/bin/sh'] }, ['/bin/sh']],
    [{ command: ['/bin/sh'], args: ['-c', 'x'] }, ['/bin/sh', '-c', 'x']],
  ])('%o → %o', (spec, want) => expect(containerArgv(spec, image)).toEqual(want))
  it('an image with only Cmd', () => expect(containerArgv({}, { Cmd: ['sh'] })).toEqual(['sh']))
})

describe('containerEnv', () => {
  it('the spec wins over the image, and $(VAR) expands as the kubelet does', () =>
    expect(
      containerEnv(
        ['PATH=/bin', 'A=1'],
        [
          { name: 'A', value: '2' },
          { name: 'B', value: '$(A)-$(NOPE)-$$(A)' },
        ],
      ),
    ).toEqual({ PATH: '/bin', A: '2', B: '2-$(NOPE)-$(A)' }))
})

describe('containerUser', () => {
  const lookup = (kind: 'passwd' | 'group', name: string) =>
    kind === 'passwd' && name === 'www'
      ? { id: 33, gid: 33 }
      : kind === 'group' && name === 'web'
        ? { id: 80 }
        : undefined
  it.each([
    [{}, {}, undefined, { uid: 0, gid: 0 }],
    [{}, {}, '65532:65532', { uid: 65532, gid: 65532 }],
    [{}, {}, 'www', { uid: 33, gid: 33 }],
    [{}, {}, 'www:web', { uid: 33, gid: 80 }],
    [{ runAsUser: 1000 }, { runAsUser: 5, runAsGroup: 7 }, 'www', { uid: 1000, gid: 7 }],
    [{}, { runAsNonRoot: true }, '1000', { uid: 1000, gid: 0 }],
  ])('%o %o %s → %o', (c, p, image, want) => expect(containerUser(c, p, image, lookup)).toEqual(want))
  it.each([
    [{ runAsNonRoot: true }, undefined, /runAsNonRoot and image will run as root/],
    [{ runAsNonRoot: true }, 'nobody', /non-numeric user \(nobody\)/],
    [{}, 'nobody', /unable to find user nobody/],
  ])('%o %s → error', (c, image, err) => {
    const r = containerUser(c, {}, image, lookup)
    expect('error' in r && r.error).toMatch(err)
  })
})

describe('listeningPorts (/proc/<pid>/net/tcp{,6} of the pod namespace)', () => {
  const head =
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'
  it('LISTEN sockets only, IPv4 preferred', () =>
    expect(
      listeningPorts(
        `${head}   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1\n   1: 0100007F:1F90 0100007F:D2C4 01 00000000:00000000 00:00000000 00000000 0 0 2\n`,
        `${head}   0: 00000000000000000000000000000000:1F91 00000000000000000000000000000000:0000 0A 0 0 0 0 0 3\n`,
      ),
    ).toEqual([
      { port: 8080, family: 4 },
      { port: 8081, family: 6 },
    ]))
})
