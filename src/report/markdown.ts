import type { ReleaseReport, SideStats } from '../core/timeline.js'

const num = (v: number | undefined, unit = '') => (v === undefined ? '–' : `${v}${unit}`)
const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ')
const side = (s: SideStats) => [
  String(s.requests),
  String(s.errors),
  num(s.successRate, ' %'),
  num(s.p50Ms, ' ms'),
  num(s.p99Ms, ' ms'),
]
const clock = (iso: string) => iso.slice(11, 19)

/**
 * A release report as Markdown, for pull requests and CI summaries (`GITHUB_STEP_SUMMARY`):
 * a heading with the outcome, then one table per step with a row per analysis interval.
 *
 *   markdownReport({ app: 'kubeapp', version: '2.0', from: '1.0', phase: 'Succeeded', steps: [{ index: 0, weight: 25, stable: 3, canary: 1, intervals: [ok…] }], … })
 *   → '### kubeapp 1.0 → 2.0: Succeeded\n…\n#### Step 1: 3:1 (25 % canary)\n| time | verdict | canary req | …'
 */
export function markdownReport(r: ReleaseReport): string {
  const secs = Math.round((Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 100) / 10
  const out = [
    `### ${cell(r.app)} ${cell(r.from ?? '?')} → ${cell(r.version)}: ${r.phase}`,
    '',
    `Namespace \`${r.namespace}\`, started ${r.startedAt}, took ${secs} s.${r.reason ? ` Reason: ${cell(r.reason)}` : ''}`,
  ]
  for (const s of r.steps) {
    out.push(
      '',
      `#### Step ${s.index + 1}: ${s.stable}:${s.canary} (${s.weight} % canary) ${clock(s.startedAt)}–${clock(s.endedAt)}`,
      '',
    )
    if (s.intervals.length === 0) {
      out.push('_no analysis interval completed in this step_')
      continue
    }
    out.push(
      '| time | verdict | canary req | canary err | canary success | canary p50 | canary p99 | stable req | stable err | stable success | stable p50 | stable p99 |',
      '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    )
    for (const i of s.intervals)
      out.push(
        `| ${clock(i.at)} | ${i.verdict === 'ok' ? '✅ ok' : '❌ failed'} | ${[...side(i.canary), ...side(i.stable)].join(' | ')} |`,
      )
  }
  const notable = r.events.filter(
    (e) => e.kind !== 'phase' || /RolledBack|Aborted|Succeeded|RollingBack/.test(e.text),
  )
  if (notable.length > 0) {
    out.push('', '#### Events', '')
    for (const e of notable) out.push(`- ${clock(e.at)} **${e.kind}** ${cell(e.text)}`)
  }
  return `${out.join('\n')}\n`
}
