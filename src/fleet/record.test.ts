import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  clusterRecordOf,
  type FleetRecord,
  localRecordPath,
  readLocalRecord,
  writeLocalRecord,
} from './record.js'

const record: FleetRecord = {
  id: 'f1',
  app: 'kubeapp',
  version: '2.0',
  waves: [['a'], ['b', 'c']],
  phase: 'Progressing',
  clusters: {
    a: { namespace: 'production', wave: 0, outcome: 'done' },
    b: { namespace: 'production', wave: 1, outcome: 'running' },
    c: { namespace: 'shop', wave: 1, outcome: 'untouched' },
  },
  startedAt: '2026-12-04T22:00:00.000Z',
  updatedAt: '2026-12-04T22:01:00.000Z',
}

describe('the local fleet record', () => {
  const homes: string[] = []
  afterEach(() => {
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true })
  })
  const home = () => {
    const h = mkdtempSync(join(tmpdir(), 'ec-record-'))
    homes.push(h)
    return h
  }

  it('is written whole, 0600, and read back', () => {
    const h = home()
    writeLocalRecord(h, record)
    expect(statSync(localRecordPath(h, 'kubeapp')).mode & 0o777).toBe(0o600)
    expect(readLocalRecord(h, 'kubeapp')).toEqual(record)
    expect(readLocalRecord(h, 'other')).toBeUndefined()
  })

  it.each([
    ['not JSON', '{'],
    ['no waves', JSON.stringify({ ...record, waves: undefined })],
    ['waves of numbers', JSON.stringify({ ...record, waves: [[1]] })],
    ['no clusters', JSON.stringify({ ...record, clusters: null })],
    ['too large', JSON.stringify({ ...record, pad: 'x'.repeat(300_000) })],
  ])('a damaged file (%s) is ignored, not trusted', (_why, text) => {
    const h = home()
    writeLocalRecord(h, record)
    writeFileSync(localRecordPath(h, 'kubeapp'), text)
    expect(readLocalRecord(h, 'kubeapp')).toBeUndefined()
    expect(readFileSync(localRecordPath(h, 'kubeapp'), 'utf8')).toBe(text)
  })

  it('each cluster keeps the plan and its own entry', () => {
    expect(clusterRecordOf(record, 'c')).toEqual({
      id: 'f1',
      app: 'kubeapp',
      version: '2.0',
      waves: [['a'], ['b', 'c']],
      phase: 'Progressing',
      startedAt: record.startedAt,
      updatedAt: record.updatedAt,
      context: 'c',
      entry: { namespace: 'shop', wave: 1, outcome: 'untouched' },
    })
  })
})
