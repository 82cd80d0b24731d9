import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { freePort, waitFor } from './ports.js'

/**
 * Runs the `/app` entrypoint of a pulled arm64 image under qemu-aarch64-static on a free
 * loopback port, returns its `/version` body, and stops it by PID.
 */
export async function versionOfPulledApp(rootfs: string): Promise<string> {
  const port = await freePort()
  const app = spawn('qemu-aarch64-static', [join(rootfs, 'app')], {
    env: { PORT: String(port) },
    stdio: 'ignore',
  })
  try {
    return await waitFor('the pulled app under qemu', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/version`).catch(() => undefined)
      return res?.ok ? res.text() : undefined
    })
  } finally {
    app.kill('SIGKILL')
  }
}
