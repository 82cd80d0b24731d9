import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, waitFor } from './ports.js'

export interface DockerRegistry {
  host: string
  stop(): Promise<void>
}

/**
 * Debian's `docker-registry` (distribution 2.8) on a free loopback port, always with our own
 * config (the packaged one points htpasswd at a bad path). With `users`, htpasswd Basic auth
 * with bcrypt entries made by `htpasswd -Bbn`.
 */
export async function startDockerRegistry(
  dir: string,
  users?: Record<string, string>,
): Promise<DockerRegistry> {
  mkdirSync(dir, { recursive: true })
  const port = await freePort()
  let auth = ''
  if (users) {
    const lines = Object.entries(users).map(([u, p]) =>
      execFileSync('htpasswd', ['-Bbn', u, p], { encoding: 'utf8' }).trim(),
    )
    writeFileSync(join(dir, 'htpasswd'), `${lines.join('\n')}\n`)
    auth = `auth:\n  htpasswd:\n    realm: edgecanary-test\n    path: ${join(dir, 'htpasswd')}\n`
  }
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\n  secret: edgecanary-test-secret\n${auth}`,
  )
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
    stdio: 'ignore',
  })
  await waitFor(
    'docker-registry',
    async () => {
      const r = await fetch(`http://127.0.0.1:${port}/v2/`).catch(() => undefined)
      return r && (r.status === 200 || r.status === 401) ? true : undefined
    },
    20_000,
    100,
  )
  return {
    host: `127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await new Promise((r) => child.on('exit', r))
      }
    },
  }
}
