import { spawn } from 'node:child_process'
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { RES } from './resources.js'
import { MAX_OBJECT_BYTES, MemoryStore, persistPeriodically } from './store.js'
import type { KObject } from './types.js'

const cm = (name: string, data: Record<string, string> = { a: '1' }): KObject =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data }) as KObject
const ns = (name: string): KObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })

describe('store durability', () => {
  const dirs: string[] = []
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'ec-store-'))
    dirs.push(d)
    return d
  }
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })

  it('keeps every acknowledged write of a process killed with SIGKILL before any snapshot', async () => {
    const d = dir()
    const file = join(d, 'store.json')
    const script = join(d, 'writer.mts')
    writeFileSync(
      script,
      `import { MemoryStore } from ${JSON.stringify(join(import.meta.dirname, 'store.ts'))}
import { RES } from ${JSON.stringify(join(import.meta.dirname, 'resources.ts'))}
const s = MemoryStore.load(${JSON.stringify(file)})
s.create(RES.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } })
for (let i = 0; i < 50; i++) {
  s.create(RES.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm-' + i, namespace: 'default' }, data: { i: String(i) } })
  if (i === 49) s.delete(RES.configmaps, 'default', 'cm-7')
  await s.durable()
  process.stdout.write('acked ' + i + '\\n')
}
setInterval(() => {}, 1000)
`,
    )
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stderr?.on('data', (b: Buffer) => {
      out += b.toString()
    })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`writer did not finish: ${out}`)), 30_000)
      child.stdout?.on('data', (b: Buffer) => {
        out += b.toString()
        if (out.includes('acked 49')) {
          clearTimeout(timer)
          resolve()
        }
      })
    })
    child.kill('SIGKILL')
    await new Promise((r) => child.on('exit', r))
    const s = MemoryStore.load(file)
    const names = s.list(RES.configmaps).items.map((o) => o.metadata.name)
    expect(names).toHaveLength(49)
    expect(names).not.toContain('cm-7')
    expect(s.get(RES.configmaps, 'default', 'cm-49')?.data).toEqual({ i: '49' })
    s.close()
  })

  it('replays the journal after the snapshot and ignores a torn last line', () => {
    const d = dir()
    const file = join(d, 'store.json')
    const a = MemoryStore.load(file)
    a.create(RES.namespaces, ns('default'))
    a.create(RES.configmaps, cm('before'))
    a.save()
    expect(readFileSync(`${file}.journal`, 'utf8')).toBe('')
    a.create(RES.configmaps, cm('after'))
    appendFileSync(`${file}.journal`, '{"rv":99,"t":"/configmaps","key":"default/torn","o":{"metad')
    const b = MemoryStore.load(file)
    expect(b.list(RES.configmaps).items.map((o) => o.metadata.name)).toEqual(['after', 'before'])
    expect(b.resourceVersion()).toBe(a.resourceVersion())
  })

  it('refuses an object over etcd 1.5 MiB limit and stores nothing', () => {
    const s = new MemoryStore()
    s.create(RES.namespaces, ns('default'))
    const rv = s.resourceVersion()
    const big = cm('big', { blob: 'x'.repeat(MAX_OBJECT_BYTES) })
    expect(() => s.create(RES.configmaps, big)).toThrow('etcdserver: request is too large')
    expect(s.resourceVersion()).toBe(rv)
    expect(s.get(RES.configmaps, 'default', 'big')).toBeUndefined()
    const small = s.create(RES.configmaps, cm('small'))
    expect(() =>
      s.update(RES.configmaps, { ...small, data: { blob: 'y'.repeat(MAX_OBJECT_BYTES) } }),
    ).toThrow(/too large/)
    expect(s.get(RES.configmaps, 'default', 'small')?.data).toEqual({ a: '1' })
  })

  it('a failing snapshot never throws out of the timer, is said once, and is retried until it works', async () => {
    const file = join(dir(), 'store.json')
    const s = MemoryStore.load(file)
    s.create(RES.namespaces, ns('default'))
    s.create(RES.configmaps, cm('kept'))
    mkdirSync(`${file}.tmp`) // the snapshot's temporary file cannot be written, even by root
    const lines: string[] = []
    const stop = persistPeriodically(s, 20, (l) => lines.push(l))
    try {
      await new Promise((r) => setTimeout(r, 150))
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(/^sandbox: saving the store failed \(EISDIR.*trying again$/)
      expect(MemoryStore.load(file).get(RES.configmaps, 'default', 'kept')).toBeDefined() // from the journal
      rmSync(`${file}.tmp`, { recursive: true })
      await new Promise((r) => setTimeout(r, 150))
      expect(lines.at(-1)).toBe('sandbox: the store is saved again')
      expect(JSON.parse(readFileSync(file, 'utf8')).objects['/configmaps']).toHaveLength(1)
      expect(readFileSync(`${file}.journal`, 'utf8')).toBe('')
    } finally {
      stop()
    }
  })
})
