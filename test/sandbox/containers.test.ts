import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildPodnet } from '../../src/sandbox/kubelet/podnet-helper.js'
import { pushBusybox } from '../helpers/busybox-image.js'
import { podProcesses } from '../helpers/pod-processes.js'
import { waitFor } from '../helpers/ports.js'
import { runInPty } from '../helpers/pty.js'
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js'

const run = promisify(execFile)

interface PodJson {
  metadata: { name: string; uid: string }
  spec: { nodeName?: string }
  status: {
    podIP?: string
    conditions?: { type: string; status: string }[]
    containerStatuses?: {
      restartCount: number
      state: Record<string, { reason?: string; message?: string; exitCode?: number }>
    }[]
  }
}

// Pods as rootless containers: Debian's static arm64 busybox, run through qemu-user inside its
// own root filesystem, user, mount, PID and network namespaces; and the hostile cases a pod
// spec, an image or a registry can bring, each leaving the host untouched and the sandbox serving.
describe('sandbox pods are rootless containers', () => {
  let sb: TestSandbox
  let busybox: string
  let liar: Server
  const victim = mkdtempSync(join(tmpdir(), 'ec-victim-'))
  // kept across the restart in the last test
  const home = mkdtempSync(join(tmpdir(), 'ec-containers-'))
  const ns = 'iso'
  const sandboxOpts = { nodes: 3, backoffBaseMs: 500, home, args: ['--nodes-arch=pi-3=amd64'] }
  const kubectl = async (...args: string[]) =>
    (await run('kubectl', args, { env: sb.env, timeout: 60_000 })).stdout
  const apply = async (yaml: string) => {
    const f = join(sb.home, `m-${Math.random().toString(36).slice(2)}.yaml`)
    writeFileSync(f, yaml)
    return kubectl('apply', '-f', f)
  }
  const pod = async (name: string): Promise<PodJson> =>
    JSON.parse(await kubectl('get', 'pod', name, '-n', ns, '-o', 'json')) as PodJson
  const waiting = async (name: string) => (await pod(name)).status.containerStatuses?.[0]?.state.waiting
  const podYaml = (name: string, image: string, spec: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: ${image}
${spec}
`
  /** The sandbox still answers and still runs pods: the busybox Service keeps serving. */
  const stillServing = async () => {
    const svc = JSON.parse(await kubectl('get', 'svc', 'www', '-n', ns, '-o', 'json')) as {
      status: { loadBalancer: { ingress: { ip: string; ports: { port: number }[] }[] } }
    }
    const ing = svc.status.loadBalancer.ingress[0]
    const r = await fetch(`http://${ing.ip}:${ing.ports[0].port}/index.html`)
    expect(await r.text()).toBe('served from /www in the image\n')
  }

  beforeAll(async () => {
    writeFileSync(join(victim, 'keep'), 'host file')
    sb = await startSandbox(sandboxOpts)
    // pi-3 is amd64 and cordoned: only pods that name it run there
    await kubectl('cordon', 'pi-3')
    busybox = await pushBusybox(sb.registry, {
      repository: 'busybox',
      tag: '1.35',
      files: { 'www/index.html': 'served from /www in the image\n' },
      config: { Entrypoint: ['/bin/busybox'], WorkingDir: '/' },
    })
    await apply(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}}\n`)
    // three replicas bind the same port, declared nowhere, and serve a directory by absolute path
    await apply(`apiVersion: apps/v1
kind: Deployment
metadata: {name: www, namespace: ${ns}}
spec:
  replicas: 3
  selector: {matchLabels: {app: www}}
  template:
    metadata: {labels: {app: www}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: ${busybox}
        args: [httpd, -f, -p, "8080", -h, /www]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: www, namespace: ${ns}}
spec:
  type: LoadBalancer
  selector: {app: www}
  ports: [{port: 80, targetPort: 8080}]
`)
    await run('kubectl', ['rollout', 'status', 'deployment/www', '-n', ns, '--timeout=60s'], { env: sb.env })
  }, 120_000)
  afterAll(async () => {
    liar?.close()
    await sb?.stop()
    rmSync(home, { recursive: true, force: true })
  })

  it('three replicas of an app on one undeclared port serve /www from the image behind a LoadBalancer', async () => {
    const pods = (
      JSON.parse(await kubectl('get', 'pods', '-n', ns, '-l', 'app=www', '-o', 'json')) as {
        items: PodJson[]
      }
    ).items
    expect(pods).toHaveLength(3)
    const ips = new Set(pods.map((p) => p.status.podIP))
    expect(ips.size).toBe(3)
    // each podIP is reachable from the host on the port the app bound
    for (const p of pods) {
      const r = await fetch(`http://${p.status.podIP}:8080/index.html`)
      expect(await r.text()).toBe('served from /www in the image\n')
    }
    await stillServing()
    // the host's /www does not exist; the image's does
    expect(existsSync('/www/index.html')).toBe(false)
  })

  it('dynamically linked arm64 (qemu-user) and amd64 busybox find their loader and libraries in the image', async () => {
    // Debian's busybox:ARCH with the loader, libc and libresolv of libc6:ARCH, nothing else
    for (const [arch, node] of [
      ['arm64', 'pi-1'],
      ['amd64', 'pi-3'],
    ]) {
      const image = await pushBusybox(sb.registry, {
        repository: 'busybox-dynamic',
        tag: arch,
        flavor: arch === 'arm64' ? 'dynamic-arm64' : 'dynamic-amd64',
      })
      // the shell prints which files its process mapped: the loader and libc of the image
      await apply(
        `${podYaml(
          `dyn-${arch}`,
          image,
          `    command: [/bin/sh, -c, 'echo "dynamic $0"; while read a b c d e f; do case "$f" in *.so*) echo "map:$f";; esac; done < /proc/self/maps', ${arch}]`,
        )}  restartPolicy: Never\n  nodeName: ${node}\n`,
      )
    }
    for (const [arch, triplet, loader] of [
      ['arm64', 'aarch64-linux-gnu', 'ld-linux-aarch64.so.1'],
      ['amd64', 'x86_64-linux-gnu', 'ld-linux-x86-64.so.2'],
    ]) {
      const log = await waitFor(`dyn-${arch} logs`, async () => {
        const x = await pod(`dyn-${arch}`)
        const t = x.status.containerStatuses?.[0]?.state.terminated
        return t ? { t, log: await kubectl('logs', `dyn-${arch}`, '-n', ns) } : undefined
      })
      expect(log.log).toContain(`dynamic ${arch}`)
      expect(log.log).toContain(`map:/lib/${triplet}/libc.so.6`)
      expect(log.log).toContain(`map:/lib/${triplet}/${loader}`)
      expect(log.t.exitCode).toBe(0)
      await kubectl('delete', 'pod', `dyn-${arch}`, '-n', ns, '--wait=false')
    }
  })

  it('a container sees the image as /, its writes stay its own, emptyDir is shared, runAsUser holds', async () => {
    // busybox under qemu-user cannot exec another arm64 program without binfmt_misc, so the
    // writer uses shell builtins only and the web container shows what it sees over HTTP
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: shared, namespace: ${ns}}
spec:
  terminationGracePeriodSeconds: 1
  restartPolicy: Never
  securityContext: {runAsUser: 1000, runAsGroup: 1000}
  volumes: [{name: scratch, emptyDir: {}}]
  containers:
  - name: web
    image: ${busybox}
    args: [httpd, -f, -p, "8081", -h, /]
    volumeMounts: [{name: scratch, mountPath: /scratch}]
  - name: writer
    image: ${busybox}
    command:
    - /bin/sh
    - -c
    - |
      echo shared > /scratch/note; echo mine > /tmp/own; echo defaced > /www/index.html
      read x < /tmp/own; echo "own=$x"
      while read k v r; do [ "$k" = Uid: ] && echo "uid=$v"; done < /proc/self/status
      for f in /*; do echo "root:$f"; done
    volumeMounts: [{name: scratch, mountPath: /scratch}]
`)
    const p = await waitFor('writer done, web serving', async () => {
      const x = await pod('shared')
      const done = (x.status.containerStatuses ?? []).some((c) => c.state.terminated?.reason === 'Completed')
      return done && x.status.podIP ? x : undefined
    })
    const log = await kubectl('logs', 'shared', '-c', 'writer', '-n', ns)
    expect(log).toContain('own=mine')
    expect(log).toContain('uid=1000')
    expect(log).toContain('root:/www') // its / is the image's root
    expect(log).not.toMatch(/root:\/(usr|home|var)\b/) // not the host's
    const get = async (path: string) =>
      waitFor(`GET ${path}`, async () => {
        const r = await fetch(`http://${p.status.podIP}:8081${path}`).catch(() => undefined)
        return r ? { status: r.status, text: await r.text() } : undefined
      })
    expect(await get('/scratch/note')).toEqual({ status: 200, text: 'shared\n' }) // emptyDir is the pod's
    expect((await get('/tmp/own')).status).toBe(404) // the writer's layer is the writer's
    expect((await get('/www/index.html')).text).toBe('served from /www in the image\n')
    expect(existsSync('/tmp/own')).toBe(false)
    await stillServing() // the other pods of the image never saw the write
    await kubectl('delete', 'pod', 'shared', '-n', ns, '--wait=false')
  })

  it("kubectl exec runs in the container with its exit code, stdin, and a terminal of the client's size for -it", async () => {
    const [p] = (
      JSON.parse(await kubectl('get', 'pods', '-n', ns, '-l', 'app=www', '-o', 'json')) as {
        items: PodJson[]
      }
    ).items
    const name = p.metadata.name
    // the image's root, and the command's exit code becomes kubectl's
    const failed = await run(
      'kubectl',
      ['exec', '-n', ns, name, '--', '/bin/sh', '-c', 'for f in /*; do echo "root:$f"; done; exit 3'],
      { env: sb.env },
    ).then(
      () => ({ code: 0, stdout: '' }),
      (e: { code: number; stdout: string }) => e,
    )
    expect(failed.code).toBe(3)
    expect(failed.stdout).toContain('root:/www')
    expect(failed.stdout).not.toMatch(/root:\/(usr|home)\b/)
    // stdin reaches the command
    const child = execFile(
      'kubectl',
      ['exec', '-i', '-n', ns, name, '--', '/bin/sh', '-c', 'read x; echo "got $x"'],
      {
        env: sb.env,
      },
    )
    child.stdin?.end('hello\n')
    const out = await new Promise<string>((resolve, reject) => {
      let text = ''
      child.stdout?.on('data', (d: Buffer) => {
        text += d.toString()
      })
      child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}: ${text}`))))
    })
    expect(out).toBe('got hello\n')
    // -it: kubectl in a terminal (util-linux script) gets a terminal in the container
    const tty = await run(
      'script',
      [
        '-qfec',
        `kubectl exec -it -n ${ns} ${name} -- /bin/sh -c '[ -t 0 ] && echo tty-yes; exit 0'`,
        '/dev/null',
      ],
      { env: sb.env },
    )
    expect(tty.stdout).toContain('tty-yes')
    // the terminal's size reaches the container's pty through the resize channel
    const sized = await runInPty(['kubectl', 'exec', '-it', '-n', ns, name, '--', 'stty', 'size'], {
      env: sb.env,
      cols: 97,
      rows: 31,
      timeoutMs: 60_000,
    }).exited
    expect(sized.status).toBe(0)
    expect(sized.output).toMatch(/^31 97\r?$/m)
  })

  it('kubectl port-forward reaches a port the app bound without declaring it', async () => {
    const [p] = (
      JSON.parse(await kubectl('get', 'pods', '-n', ns, '-l', 'app=www', '-o', 'json')) as {
        items: PodJson[]
      }
    ).items
    const pf = spawn('kubectl', ['port-forward', '-n', ns, `pod/${p.metadata.name}`, ':8080'], {
      env: sb.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    try {
      let out = ''
      pf.stdout?.on('data', (d: Buffer) => {
        out += d.toString()
      })
      pf.stderr?.on('data', (d: Buffer) => {
        out += d.toString()
      })
      const local = await waitFor(
        'Forwarding from',
        async () => /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(out)?.[1],
      )
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`http://127.0.0.1:${local}/index.html`, { headers: { connection: 'close' } })
        expect(await r.text()).toBe('served from /www in the image\n')
      }
    } finally {
      if (pf.exitCode === null) pf.kill('SIGTERM')
    }
  })

  it('the official Python client port-forwards over the plain portforward.k8s.io channels', async () => {
    const [p] = (
      JSON.parse(await kubectl('get', 'pods', '-n', ns, '-l', 'app=www', '-o', 'json')) as {
        items: PodJson[]
      }
    ).items
    const r = await run(
      '/usr/bin/python3',
      [
        join(import.meta.dirname, 'python', 'portforward.py'),
        sb.kubeconfig,
        ns,
        p.metadata.name,
        '8080',
        '9',
      ],
      { env: sb.env, timeout: 60_000 },
    )
    const seen = JSON.parse(r.stdout) as {
      response: string
      error: string | null
      closed_error: string | null
    }
    expect(seen.response).toMatch(/^HTTP\/1\.[01] 200/)
    expect(seen.response).toContain('served from /www in the image')
    expect(seen.error).toBeNull()
    // a port nothing listens on: the error channel says so, and the client's socket closes
    expect(seen.closed_error).toContain('error forwarding port 9')
  })

  it('a host program listening on *:port does not capture the pod port: probes and the pod proxy reach the pod', async () => {
    // a host server on the wildcard address owns podIP:port for every 127.x.y.z
    const host = createServer((_req, res) => res.end('the host program\n'))
    await new Promise<void>((r) => host.listen(0, '0.0.0.0', () => r()))
    const port = (host.address() as { port: number }).port
    try {
      await apply(
        podYaml(
          'hijack',
          busybox,
          `    args: [httpd, -f, -p, "${port}", -h, /www]\n    readinessProbe: {httpGet: {path: /index.html, port: ${port}}, periodSeconds: 1}`,
        ),
      )
      await waitFor('hijack Ready', async () =>
        (await pod('hijack')).status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
          ? true
          : undefined,
      )
      const body = await kubectl(
        'get',
        '--raw',
        `/api/v1/namespaces/${ns}/pods/hijack:${port}/proxy/index.html`,
      )
      expect(body).toBe('served from /www in the image\n')
    } finally {
      host.close()
      await kubectl('delete', 'pod', 'hijack', '-n', ns, '--wait=false')
    }
  })

  it('a climbing command path runs the image file, never the host shell', async () => {
    await apply(
      `${podYaml('climb', busybox, '    command: [/../../bin/sh, -c, \'for f in /*; do echo "root:$f"; done\']')}  restartPolicy: Never\n`,
    )
    const log = await waitFor('climb logs', async () => {
      const l = await kubectl('logs', 'climb', '-n', ns).catch(() => '')
      return l.includes('root:/www') ? l : undefined
    })
    expect(log).not.toMatch(/root:\/(usr|home|var)\b/)
    await kubectl('delete', 'pod', 'climb', '-n', ns, '--wait=false')
    await stillServing()
  })

  it('a directory as command is CreateContainerError on that pod only', async () => {
    await apply(podYaml('dir', busybox, '    command: ["/"]'))
    const w = await waitFor('CreateContainerError', async () => {
      const x = await waiting('dir')
      return x?.reason === 'CreateContainerError' ? x : undefined
    })
    expect(w.message).toContain('is a directory')
    await stillServing()
  })

  it('runAsNonRoot with an image running as root is CreateContainerConfigError', async () => {
    await apply(
      podYaml('nonroot', busybox, '    args: [sleep, "600"]\n    securityContext: {runAsNonRoot: true}'),
    )
    const w = await waitFor('CreateContainerConfigError', async () => {
      const x = await waiting('nonroot')
      return x?.reason === 'CreateContainerConfigError' ? x : undefined
    })
    expect(w.message).toContain('runAsNonRoot')
  })

  it('privileged, hostPath, hostNetwork and added capabilities are refused with 422 naming the field', async () => {
    const cases: [string, string][] = [
      ['    securityContext: {privileged: true}', 'spec.containers[0].securityContext.privileged'],
      [
        '    securityContext: {capabilities: {add: [NET_ADMIN]}}',
        'spec.containers[0].securityContext.capabilities.add',
      ],
      ['  hostNetwork: true', 'spec.hostNetwork'],
      ['  volumes: [{name: h, hostPath: {path: /etc}}]', 'spec.volumes[0].hostPath'],
    ]
    for (const [extra, field] of cases) {
      const yaml = extra.startsWith('    ')
        ? podYaml('refused', busybox, extra)
        : `${podYaml('refused', busybox, '')}${extra}\n`
      const err = await apply(yaml).then(
        () => '',
        (e: { stderr?: string }) => e.stderr ?? '',
      )
      expect(err).toContain(field)
      expect(err).toContain('Forbidden')
    }
  })

  it('a registry lying with Docker-Content-Digest ../../… is ErrImagePull, and the host directory stays', async () => {
    // the lying registry: a valid manifest whose digest header points out of the image cache
    const manifest = Buffer.from(
      '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"sha256:' +
        'a'.repeat(64) +
        '"},"layers":[]}',
    )
    liar = createServer((req, res) => {
      if (req.url?.includes('/manifests/')) {
        res.writeHead(200, {
          'content-type': 'application/vnd.oci.image.manifest.v1+json',
          'docker-content-digest': `../../../../../../..${victim}`,
        })
        res.end(manifest)
      } else res.writeHead(404).end()
    })
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', () => r()))
    const port = (liar.address() as { port: number }).port
    await apply(podYaml('liar', `127.0.0.1:${port}/evil:1`, '    args: [sleep, "600"]'))
    const w = await waitFor('ErrImagePull', async () => {
      const x = await waiting('liar')
      return x?.reason === 'ErrImagePull' || x?.reason === 'ImagePullBackOff' ? x : undefined
    })
    expect(JSON.stringify(w) + (await kubectl('get', 'events', '-n', ns))).toMatch(/invalid digest/)
    expect(readFileSync(join(victim, 'keep'), 'utf8')).toBe('host file')
    await stillServing()
  })

  it('a corrupt layer is ErrImagePull on that pod, and the sandbox restarts fine after it', async () => {
    const { RegistryClient } = await import('../../src/registry/client.js')
    const { digestOf, MEDIA } = await import('../../src/build/oci-image.js')
    const { gzipSync } = await import('node:zlib')
    const layer = gzipSync(Buffer.from('not a tar archive '.repeat(100)))
    const config = Buffer.from(
      JSON.stringify({ architecture: 'arm64', os: 'linux', config: { Entrypoint: ['/x'] } }),
    )
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.manifest,
        config: { mediaType: MEDIA.config, digest: digestOf(config), size: config.length },
        layers: [{ mediaType: MEDIA.layer, digest: digestOf(layer), size: layer.length }],
      }),
    )
    const client = new RegistryClient({ registry: sb.registry, repository: 'badlayer' })
    for (const b of [layer, config]) await client.uploadBlob(digestOf(b), b)
    await client.putManifest('1', MEDIA.manifest, manifest)
    await apply(podYaml('badlayer', `${sb.registry}/badlayer:1`, ''))
    await waitFor('ErrImagePull', async () => {
      const x = await waiting('badlayer')
      return x?.reason === 'ErrImagePull' || x?.reason === 'ImagePullBackOff' ? x : undefined
    })
    await stillServing()
    // the next `sandbox up` pulls it again, fails that pod again, and serves the rest
    await sb.stop()
    sb = await startSandbox(sandboxOpts)
    await run('kubectl', ['rollout', 'status', 'deployment/www', '-n', ns, '--timeout=60s'], { env: sb.env })
    await waitFor('ErrImagePull after the restart', async () => {
      const x = await waiting('badlayer')
      return x?.reason === 'ErrImagePull' || x?.reason === 'ImagePullBackOff' ? x : undefined
    })
    await waitFor('served after the restart', async () =>
      stillServing().then(
        () => true,
        () => undefined,
      ),
    )
  })
})

// The same containers for a plain user: no root, no tun device, no setuid helper. The test
// (root here and in CI) runs the whole sandbox as `nobody`.
describe.runIf(process.getuid?.() === 0)(
  'sandbox pods as rootless containers for a plain user (nobody)',
  () => {
    let sb: TestSandbox
    const kubectl = async (...args: string[]) =>
      (await run('kubectl', args, { env: sb.env, timeout: 60_000 })).stdout

    beforeAll(async () => {
      const home = mkdtempSync(join(tmpdir(), 'ec-plain-'))
      // Go's build cache is root's: the pod network helper is built here, as the sandbox would
      const helpers = join(home, 'sandbox', 'images', 'helpers')
      await buildPodnet(helpers)
      await run('chown', ['-R', '65534:65534', home])
      sb = await startSandbox({ nodes: 1, backoffBaseMs: 500, home, asUid: 65534 })
    }, 120_000)
    afterAll(async () => {
      await sb?.stop()
      if (sb) rmSync(sb.home, { recursive: true, force: true })
    })

    it('runs replicas on one port in their own namespaces, as the plain user on the host', async () => {
      const image = await pushBusybox(sb.registry, {
        repository: 'busybox',
        tag: 'plain',
        files: { 'www/index.html': 'plain user\n' },
        config: { Entrypoint: ['/bin/busybox'] },
      })
      const f = join(sb.home, 'plain.yaml')
      writeFileSync(
        f,
        `apiVersion: apps/v1
kind: Deployment
metadata: {name: plain, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: plain}}
  template:
    metadata: {labels: {app: plain}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: ${image}
        args: [httpd, -f, -p, "8080", -h, /www]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
`,
      )
      await kubectl('apply', '-f', f)
      await run('kubectl', ['rollout', 'status', 'deployment/plain', '--timeout=60s'], { env: sb.env })
      const pods = (
        JSON.parse(await kubectl('get', 'pods', '-l', 'app=plain', '-o', 'json')) as { items: PodJson[] }
      ).items
      for (const p of pods) {
        const r = await fetch(`http://${p.status.podIP}:8080/index.html`)
        expect(await r.text()).toBe('plain user\n')
      }
      // every process of those pods runs as nobody on the host
      const procs = podProcesses(sb.home).filter((p) => p.pod.startsWith('plain-'))
      expect(procs.length).toBeGreaterThanOrEqual(4)
      for (const p of procs) {
        const uid = /Uid:\s+(\d+)/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'))?.[1]
        expect(uid).toBe('65534')
      }
    })
  },
)
