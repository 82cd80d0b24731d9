/**
 * A plain-text table: columns padded to their widest cell, two spaces apart.
 *
 *   textTable(['CLUSTER', 'FLEET'], [['pi-1', 'done']]) → 'CLUSTER  FLEET\npi-1     done'
 */
export function textTable(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  return [line(head), ...rows.map(line)].join('\n')
}

const OUTCOME_TEXT: Record<string, string> = {
  untouched: 'untouched',
  running: 'in progress',
  done: 'done',
  failed: 'rolled back',
  aborted: 'aborted',
  skipped: 'skipped',
}

/**
 * The per-cluster table of a fleet release.
 *
 *   fleetTable([{ cluster: 'pi-1', wave: 1, outcome: 'failed', reason: 'canary 5xx' }])
 *     → 'CLUSTER  WAVE  FLEET        REASON\npi-1     1     rolled back  canary 5xx'
 */
export function fleetTable(
  rows: { cluster: string; wave: number; outcome: string; phase?: string; reason?: string }[],
): string {
  return textTable(
    ['CLUSTER', 'WAVE', 'FLEET', 'REASON'],
    rows.map((r) => [r.cluster, String(r.wave), OUTCOME_TEXT[r.outcome] ?? r.outcome, r.reason ?? '']),
  )
}

export function outcomeText(outcome: string): string {
  return OUTCOME_TEXT[outcome] ?? outcome
}
