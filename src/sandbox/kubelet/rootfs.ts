import { existsSync, lstatSync, readFileSync, readlinkSync, type Stats } from 'node:fs'
import { join, posix } from 'node:path'

/**
 * Where `path` (absolute, or relative to `cwd`) leads inside a container whose root is `root`,
 * following symlinks the way the kernel does after chroot: `..` and absolute link targets stop
 * at the root, so nothing resolves outside it. Returns the path inside the container and the
 * host path, or undefined when a component is missing (or links loop).
 *
 *   resolveInRoot('/srv/rootfs', '/../../bin/sh') → { inside: '/bin/busybox', host: '/srv/rootfs/bin/busybox' }
 *     (when the image's /bin/sh → busybox)
 */
export function resolveInRoot(
  root: string,
  path: string,
  cwd = '/',
): { inside: string; host: string; stat: Stats } | undefined {
  let pending = posix.isAbsolute(path) ? path : posix.join(cwd, path)
  let links = 0
  for (;;) {
    const parts = pending.split('/').filter((p) => p && p !== '.')
    let cur = '/'
    let restarted = false
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]
      if (part === '..') {
        cur = posix.dirname(cur)
        continue
      }
      const next = posix.join(cur, part)
      let st: Stats
      try {
        st = lstatSync(join(root, next))
      } catch {
        return undefined
      }
      if (st.isSymbolicLink()) {
        if (++links > 40) return undefined
        const target = readlinkSync(join(root, next))
        const rest = parts.slice(i + 1).join('/')
        pending = posix.join(posix.isAbsolute(target) ? target : posix.join(cur, target), rest)
        restarted = true
        break
      }
      cur = next
    }
    if (restarted) continue
    const host = join(root, cur)
    return { inside: cur, host, stat: lstatSync(host) }
  }
}

/**
 * What the container runs, as the kubelet combines the pod spec with the image config:
 * `command` replaces the Entrypoint (and drops the image's Cmd), `args` replaces the Cmd.
 *
 *   containerArgv({ args: ['-v'] }, { Entrypoint: ['/app'], Cmd: ['serve'] }) → ['/app', '-v']
 *   containerArgv({ command: ['/bin/sh'] }, { Entrypoint: ['/app'], Cmd: ['serve'] }) → ['/bin/sh']
 *   containerArgv({}, { Entrypoint: ['/app'], Cmd: ['serve'] }) → ['/app', 'serve']
 */
export function containerArgv(
  spec: { command?: string[]; args?: string[] },
  image: { Entrypoint?: string[] | null; Cmd?: string[] | null },
): string[] {
  const entry = spec.command ?? image.Entrypoint ?? []
  const cmd = spec.args ?? (spec.command ? [] : (image.Cmd ?? []))
  return [...entry, ...cmd]
}

/**
 * The environment of a container: the image's Env, then the spec's `env` (later wins), with
 * `$(VAR)` references to earlier variables expanded as the kubelet does (`$$` escapes, an
 * unknown reference stays as written).
 *
 *   containerEnv(['PATH=/bin', 'A=1'], [{ name: 'B', value: '$(A)-x' }]) → { PATH: '/bin', A: '1', B: '1-x' }
 */
export function containerEnv(
  image: string[] | undefined,
  spec: { name: string; value?: string }[] | undefined,
): Record<string, string> {
  const env: Record<string, string> = {}
  for (const kv of image ?? []) {
    const i = kv.indexOf('=')
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1)
  }
  if (env.PATH === undefined) env.PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  for (const e of spec ?? []) {
    if (e.value === undefined) continue
    env[e.name] = e.value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name?: string) =>
      m === '$$' ? '$' : name !== undefined && env[name] !== undefined ? env[name] : m,
    )
  }
  return env
}

export interface SecurityContext {
  runAsUser?: number
  runAsGroup?: number
  runAsNonRoot?: boolean
}

/**
 * The uid and gid a container runs as: the container's securityContext over the pod's, over
 * the image's `User` (`uid`, `uid:gid`, or names looked up in the image's /etc/passwd and
 * /etc/group through `lookup`), else root. `runAsNonRoot` refuses root, and a user name it
 * cannot check, with the kubelet's messages (CreateContainerConfigError).
 *
 *   containerUser({}, {}, '65532:65532') → { uid: 65532, gid: 65532 }
 *   containerUser({ runAsUser: 1000 }, {}, '') → { uid: 1000, gid: 0 }
 *   containerUser({ runAsNonRoot: true }, {}, '') → { error: 'container has runAsNonRoot and image will run as root …' }
 */
export function containerUser(
  container: SecurityContext,
  pod: SecurityContext,
  imageUser: string | undefined,
  lookup: (kind: 'passwd' | 'group', name: string) => { id: number; gid?: number } | undefined = () =>
    undefined,
): { uid: number; gid: number } | { error: string } {
  const nonRoot = container.runAsNonRoot ?? pod.runAsNonRoot
  let uid = container.runAsUser ?? pod.runAsUser
  let gid = container.runAsGroup ?? pod.runAsGroup
  if (uid === undefined && imageUser) {
    const [u, g] = imageUser.split(':')
    if (/^\d+$/.test(u)) uid = Number(u)
    else {
      const found = lookup('passwd', u)
      if (!found) {
        if (nonRoot)
          return {
            error: `container has runAsNonRoot and image has non-numeric user (${u}), cannot verify user is non-root`,
          }
        return { error: `unable to find user ${u}: no matching entries in passwd file` }
      }
      uid = found.id
      gid ??= g === undefined ? found.gid : undefined
    }
    if (gid === undefined && g !== undefined) {
      if (/^\d+$/.test(g)) gid = Number(g)
      else {
        const found = lookup('group', g)
        if (!found) return { error: `unable to find group ${g}: no matching entries in group file` }
        gid = found.id
      }
    }
  }
  uid ??= 0
  if (nonRoot && uid === 0)
    return { error: 'container has runAsNonRoot and image will run as root (pod: …, container: …)' }
  return { uid, gid: gid ?? 0 }
}

/** Looks a user or group name up in the image's /etc/passwd or /etc/group. */
export function imageLookup(
  root: string,
): (kind: 'passwd' | 'group', name: string) => { id: number; gid?: number } | undefined {
  return (kind, name) => {
    const file = resolveInRoot(root, `/etc/${kind}`)
    if (!file?.stat.isFile() || !existsSync(file.host)) return undefined
    for (const line of readFileSync(file.host, 'utf8').split('\n')) {
      const f = line.split(':')
      if (f[0] === name && /^\d+$/.test(f[2] ?? ''))
        return {
          id: Number(f[2]),
          gid: kind === 'passwd' && /^\d+$/.test(f[3] ?? '') ? Number(f[3]) : undefined,
        }
    }
    return undefined
  }
}

/**
 * The executable a command names inside the image: a path is resolved in the root, a bare
 * name is looked up in the container's PATH, as runc does. The result must be a regular file
 * with an execute bit; otherwise the reason, as the runtime words it. `path` is the name to
 * exec inside the container (symlinks kept, so a multi-call binary sees its applet name).
 *
 *   findExecutable(root, 'sh', '/usr/bin:/bin', '/') → { path: '/bin/sh', inside: '/bin/busybox', host: … }
 *   findExecutable(root, '/', …) → { error: 'exec: "/": is a directory' }
 */
export function findExecutable(
  root: string,
  cmd: string,
  path: string,
  cwd: string,
): { path: string; inside: string; host: string } | { error: string } {
  const candidates = cmd.includes('/')
    ? [cmd]
    : path
        .split(':')
        .filter(Boolean)
        .map((d) => posix.join(d, cmd))
  let dir = false
  for (const c of candidates) {
    const r = resolveInRoot(root, c, cwd)
    if (!r) continue
    if (r.stat.isDirectory()) {
      dir = true
      continue
    }
    if (!r.stat.isFile() || (r.stat.mode & 0o111) === 0) continue
    return { path: c, inside: r.inside, host: r.host }
  }
  if (dir && cmd.includes('/')) return { error: `exec: "${cmd}": is a directory` }
  return {
    error: cmd.includes('/')
      ? `exec: "${cmd}": stat ${cmd}: no such file or directory`
      : `exec: "${cmd}": executable file not found in $PATH`,
  }
}
