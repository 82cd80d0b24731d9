import type { StatusReport } from '../release/status.js'

const FINAL = ['Succeeded', 'RolledBack', 'Aborted']

/**
 * The replica ratio as a bar: stable pods as `█`, canary pods as `▒`, `width` cells in all.
 *
 *   ratioBar(3, 1, 8) → '██████▒▒'   ratioBar(0, 0, 4) → '····'
 */
export function ratioBar(stable: number, canary: number, width = 20): string {
  const total = stable + canary
  if (total <= 0) return '·'.repeat(width)
  const c =
    canary > 0
      ? Math.min(stable > 0 ? width - 1 : width, Math.max(1, Math.round((canary / total) * width)))
      : 0
  const s = stable > 0 ? width - c : 0
  return `${'█'.repeat(s)}${'▒'.repeat(c)}${'·'.repeat(width - s - c)}`
}

/**
 * The status block `status` prints: phase and versions, the ratio (with a bar), the step, the
 * pods, the last analysis, and what to do next.
 *
 *   renderStatus({ app: 'kubeapp', namespace: 'production', phase: 'Progressing', version: '2.0',
 *                  ratio: '3:1', step: '1/3', stable: {…}, canary: {…} })
 *   → 'kubeapp in production: Progressing (release 2.0 from 1.0)\n  ratio     ███████████████▒▒▒▒▒  stable 3 : canary 1   step 1/3\n…'
 */
export function renderStatus(r: StatusReport): string {
  const [s, c] = (r.ratio ?? '0:0').split(':').map(Number)
  const lines = [
    `${r.app} in ${r.namespace}: ${r.phase}${r.version ? ` (release ${r.version}${r.previousVersion ? ` from ${r.previousVersion}` : ''})` : ''}`,
    `  ratio     ${ratioBar(s, c)}  stable ${s} : canary ${c}${r.step ? `   step ${r.step}` : ''}`,
    `  stable    ${r.stable.ready}/${r.stable.replicas} ready   ${r.stable.image ?? ''}`,
    `  canary    ${r.canary.ready}/${r.canary.replicas} ready   ${r.canary.image ?? ''}${r.canary.warming ? `   (${r.canary.warming} starting for the next step)` : ''}`,
  ]
  if (r.holder) lines.push(`  held by   ${r.holder}`)
  if (r.lastAnalysis)
    lines.push(
      `  analysis  ${r.lastAnalysis.ok ? 'ok' : `failed: ${r.lastAnalysis.reason}`} (${r.lastAnalysis.canaryRequests} canary requests, ${r.lastAnalysis.canaryErrors} errors${r.lastAnalysis.p99Ms !== undefined ? `, p99 ${r.lastAnalysis.p99Ms}ms` : ''})`,
    )
  if (r.reason) lines.push(`  reason    ${r.reason}`)
  if (r.drift) lines.push(`  drift     ${r.drift}`)
  if (r.advice) lines.push(`  next      ${r.advice}`)
  return lines.join('\n')
}

/**
 * What a terminal gets to replace the block it shows (`shownLines` lines, cursor below it) by
 * `text`: back to the block's first line (`ESC[nF`), erase to the end of the screen (`ESC[J`),
 * the new block. Lines wider than the terminal are cut, so each takes one row and the next
 * redraw goes back exactly as far.
 *
 *   redraw(0, 'a\nb', 80) → 'a\nb\n'      redraw(2, 'c', 80) → '\x1b[2F\x1b[Jc\n'
 */
export function redraw(shownLines: number, text: string, columns: number): string {
  const cut = text
    .split('\n')
    .map((l) => (l.length > columns - 1 ? `${l.slice(0, Math.max(1, columns - 2))}…` : l))
  return `${shownLines > 0 ? `\u001b[${shownLines}F\u001b[J` : ''}${cut.join('\n')}\n`
}

/**
 * When `status --watch` stops: it follows the release in progress when it starts, or, when the
 * last release had already ended (or there was none), the next one; it ends when that release
 * reaches a final phase. A release is told apart from the one before by its start time.
 *
 *   watchDone({ phase: 'Succeeded', startedAt: 'T1' }, { phase: 'Succeeded', startedAt: 'T1' }) → false  // the previous one
 *   watchDone({ phase: 'Succeeded', startedAt: 'T1' }, { phase: 'RolledBack', startedAt: 'T2' }) → true   // the next one ended
 *   watchDone({ phase: 'Progressing', startedAt: 'T1' }, { phase: 'Succeeded', startedAt: 'T1' }) → true
 */
export function watchDone(
  first: { phase: string; startedAt?: string },
  now: { phase: string; startedAt?: string },
): boolean {
  if (!FINAL.includes(now.phase) || now.startedAt === undefined) return false
  const followingNext = FINAL.includes(first.phase) || first.startedAt === undefined
  return !followingNext || now.startedAt !== first.startedAt
}
