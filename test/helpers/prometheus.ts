import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, waitFor } from './ports.js'

export interface ScrapeTarget {
  address: string
  labels: Record<string, string>
}

export interface TestPrometheus {
  url: string
  /** Replaces the scrape targets (file_sd, written atomically). */
  setTargets(targets: ScrapeTarget[]): void
  query(q: string): Promise<unknown>
  stop(): Promise<void>
}

/**
 * Starts Debian's Prometheus on a free loopback port, scraping every second the targets the
 * test writes to a file_sd file, with its own data directory. `stop()` ends it by PID.
 */
export async function startPrometheus(): Promise<TestPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'ec-prom-'))
  const targetsFile = join(dir, 'targets.json')
  const setTargets = (targets: ScrapeTarget[]) => {
    writeFileSync(
      `${targetsFile}.tmp`,
      JSON.stringify(targets.map((t) => ({ targets: [t.address], labels: t.labels }))),
    )
    renameSync(`${targetsFile}.tmp`, targetsFile)
  }
  setTargets([])
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, scrape_timeout: 900ms }',
      'scrape_configs:',
      '  - job_name: pods',
      `    file_sd_configs: [{ files: ['${targetsFile}'], refresh_interval: 1s }]`,
      '',
    ].join('\n'),
  )
  const port = await freePort()
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let log = ''
  child.stderr?.on('data', (d: Buffer) => {
    log += d.toString()
  })
  const url = `http://127.0.0.1:${port}`
  const exited = new Promise<void>((r) => child.on('exit', () => r()))
  await waitFor(
    `prometheus ready on ${url}\n${log}`,
    async () => ((await fetch(`${url}/-/ready`).catch(() => undefined))?.ok ? true : undefined),
    30_000,
    200,
  )
  return {
    url,
    setTargets,
    async query(q) {
      return (await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}`)).json()
    },
    async stop() {
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(t)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
