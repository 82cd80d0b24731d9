import type { ReleaseReport, SideStats } from '../core/timeline.js'

const esc = (s: string) =>
  s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')
const fmt = (v: number | undefined, unit = '') => (v === undefined ? '–' : `${v}${unit}`)

const W = 960
const LEFT = 64
const RIGHT = 24
const PANEL = 150
const GAP = 46
const TOP = 58
/** The row of verdict dots, above the panels. */
const VERDICTS = 18

interface Panel {
  title: string
  unit: string
  min: number
  max: number
  series: { name: string; cls: string; points: { t: number; v: number | undefined }[] }[]
}

/**
 * One self-contained HTML page for a release: a header with the outcome, one inline SVG of
 * three panels over time (canary share of pods and of answered requests; success rate and p99 of
 * canary against stable), a dashed line at each step's start (class `step-boundary`, one per
 * step), a dot per analysis interval coloured by its verdict, then the tables and events. No
 * scripts, no outside styles or fonts; prints on paper as it shows on screen.
 *
 *   htmlReport(releaseReport(record)) → '<!doctype html>…<svg …><line class="step-boundary" data-step="1" …/>…</svg>…'
 */
export function htmlReport(r: ReleaseReport): string {
  const t0 = Date.parse(r.startedAt)
  const t1 = Math.max(Date.parse(r.endedAt), t0 + 1000)
  const x = (ms: number) => LEFT + ((ms - t0) / (t1 - t0)) * (W - LEFT - RIGHT)
  const intervals = r.steps.flatMap((s) => s.intervals.map((i) => ({ step: s, i, t: Date.parse(i.at) })))
  const share = (c: SideStats, s: SideStats) =>
    c.requests + s.requests > 0 ? Math.round((c.requests / (c.requests + s.requests)) * 1000) / 10 : undefined
  const lat = intervals.flatMap(({ i }) => [i.canary.p99Ms, i.stable.p99Ms]).filter((v) => v !== undefined)
  const rates = intervals
    .flatMap(({ i }) => [i.canary.successRate, i.stable.successRate])
    .filter((v) => v !== undefined)
  const panels: Panel[] = [
    {
      title: 'canary share',
      unit: '%',
      min: 0,
      max: 100,
      series: [
        {
          name: 'of pods',
          cls: 'pods',
          points: r.steps.flatMap((s) => [
            { t: Date.parse(s.startedAt), v: (s.canary / Math.max(1, s.stable + s.canary)) * 100 },
            { t: Date.parse(s.endedAt), v: (s.canary / Math.max(1, s.stable + s.canary)) * 100 },
          ]),
        },
        {
          name: 'of answers',
          cls: 'canary',
          points: intervals.map(({ i, t }) => ({ t, v: share(i.canary, i.stable) })),
        },
      ],
    },
    {
      title: 'success rate',
      unit: '%',
      min: Math.min(90, ...rates.map((v) => Math.floor(v / 10) * 10)),
      max: 100,
      series: [
        {
          name: 'canary',
          cls: 'canary',
          points: intervals.map(({ i, t }) => ({ t, v: i.canary.successRate })),
        },
        {
          name: 'stable',
          cls: 'stable',
          points: intervals.map(({ i, t }) => ({ t, v: i.stable.successRate })),
        },
      ],
    },
    {
      title: 'p99 latency',
      unit: 'ms',
      min: 0,
      max: niceMax(Math.max(1, ...lat)),
      series: [
        { name: 'canary', cls: 'canary', points: intervals.map(({ i, t }) => ({ t, v: i.canary.p99Ms })) },
        { name: 'stable', cls: 'stable', points: intervals.map(({ i, t }) => ({ t, v: i.stable.p99Ms })) },
      ],
    },
  ]
  const H = TOP + panels.length * (PANEL + GAP)
  const svg: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="release timeline">`,
  ]
  panels.forEach((p, k) => {
    const top = TOP + k * (PANEL + GAP)
    const y = (v: number) => top + PANEL - ((v - p.min) / Math.max(1e-9, p.max - p.min)) * PANEL
    svg.push(
      `<g class="panel"><text class="title" x="${LEFT}" y="${top - 8}">${esc(p.title)}</text>`,
      `<rect class="frame" x="${LEFT}" y="${top}" width="${W - LEFT - RIGHT}" height="${PANEL}"/>`,
      `<text class="axis" x="${LEFT - 6}" y="${top + 4}" text-anchor="end">${p.max}${p.unit}</text>`,
      `<text class="axis" x="${LEFT - 6}" y="${top + PANEL}" text-anchor="end">${p.min}${p.unit}</text>`,
    )
    for (const s of p.series) {
      const pts = s.points.filter((q): q is { t: number; v: number } => q.v !== undefined)
      if (pts.length === 0) continue
      const d = pts.map((q, j) => `${j ? 'L' : 'M'}${x(q.t).toFixed(1)},${y(q.v).toFixed(1)}`).join(' ')
      svg.push(`<path class="series ${s.cls}" d="${d}"><title>${esc(`${p.title}, ${s.name}`)}</title></path>`)
      if (s.cls !== 'pods')
        for (const q of pts)
          svg.push(
            `<circle class="pt ${s.cls}" cx="${x(q.t).toFixed(1)}" cy="${y(q.v).toFixed(1)}" r="2.5"/>`,
          )
    }
    svg.push(
      `<text class="legend" x="${W - RIGHT}" y="${top - 8}" text-anchor="end">${p.series
        .map((s) => `<tspan class="${s.cls}">■ ${esc(s.name)}</tspan>`)
        .join(' ')}</text></g>`,
    )
  })
  for (const s of r.steps) {
    const sx = x(Date.parse(s.startedAt)).toFixed(1)
    svg.push(
      `<line class="step-boundary" data-step="${s.index + 1}" x1="${sx}" y1="${VERDICTS - 8}" x2="${sx}" y2="${H - GAP + 8}"/>`,
      `<text class="step-label" x="${Number(sx) + 3}" y="${H - GAP + 22}">step ${s.index + 1}: ${s.stable}:${s.canary}</text>`,
    )
  }
  svg.push(`<text class="axis" x="${LEFT - 6}" y="${VERDICTS + 4}" text-anchor="end">verdict</text>`)
  for (const { i, t } of intervals)
    svg.push(
      `<circle class="verdict verdict-${i.verdict}" cx="${x(t).toFixed(1)}" cy="${VERDICTS}" r="5"><title>${esc(`${i.at}: ${i.verdict}`)}</title></circle>`,
    )
  svg.push(
    `<text class="axis" x="${LEFT}" y="${H - 4}">${esc(r.startedAt.slice(11, 19))}</text>`,
    `<text class="axis" x="${W - RIGHT}" y="${H - 4}" text-anchor="end">${esc(r.endedAt.slice(11, 19))} (${Math.round((t1 - t0) / 100) / 10} s)</text>`,
    '</svg>',
  )
  const ok = r.phase === 'Succeeded'
  const rows = r.steps
    .map((s) =>
      s.intervals
        .map(
          (i, j) =>
            `<tr class="${i.verdict}"><td>${j === 0 ? `step ${s.index + 1} (${s.stable}:${s.canary}, ${s.weight} %)` : ''}</td><td>${esc(i.at.slice(11, 19))}</td><td>${i.verdict}</td>${cells(i.canary)}${cells(i.stable)}</tr>`,
        )
        .join(''),
    )
    .join('')
  const events = r.events
    .map((e) => `<li><time>${esc(e.at.slice(11, 23))}</time> <b>${esc(e.kind)}</b> ${esc(e.text)}</li>`)
    .join('')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(`${r.app} ${r.version}: ${r.phase}`)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2430;margin:24px auto;max-width:${W + 40}px;padding:0 20px;background:#fff}
h1{font-size:22px;margin:0 0 4px}.sub{color:#5a6473;margin:0 0 16px}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:600;background:${ok ? '#1a7f37' : '#cf222e'}}
svg{display:block;margin:8px 0 20px;max-width:100%;height:auto}
.frame{fill:#f6f8fa;stroke:#d0d7de}.title{font-weight:600;font-size:13px;fill:#1d2430}.axis,.step-label{font-size:11px;fill:#5a6473}
.legend{font-size:12px}.legend .canary{fill:#d1242f}.legend .stable{fill:#0969da}.legend .pods{fill:#8250df}
.series{fill:none;stroke-width:2}.series.canary{stroke:#d1242f}.series.stable{stroke:#0969da}.series.pods{stroke:#8250df;stroke-dasharray:5 3}
.pt.canary{fill:#d1242f}.pt.stable{fill:#0969da}
.step-boundary{stroke:#57606a;stroke-width:1.2;stroke-dasharray:4 4}
.verdict-ok{fill:#1a7f37}.verdict-failed{fill:#cf222e}
table{border-collapse:collapse;width:100%;font-size:12px;margin-bottom:16px}th,td{border-bottom:1px solid #d0d7de;padding:3px 6px;text-align:right}
th:first-child,td:first-child,td:nth-child(3){text-align:left}tr.failed td{background:#ffebe9}
ul{padding-left:18px;font-size:12px}time{color:#5a6473;font-variant-numeric:tabular-nums}
@media print{body{margin:0;max-width:none}svg{page-break-inside:avoid}tr{page-break-inside:avoid}}
</style></head><body>
<h1>${esc(r.app)} ${esc(r.from ?? '?')} → ${esc(r.version)} <span class="badge">${esc(r.phase)}</span></h1>
<p class="sub">namespace ${esc(r.namespace)} · ${esc(r.startedAt)} → ${esc(r.endedAt)}${r.reason ? ` · <b>reason:</b> ${esc(r.reason)}` : ''}</p>
${svg.join('\n')}
<table><thead><tr><th>step</th><th>time</th><th>verdict</th><th>canary req</th><th>err</th><th>success</th><th>p50</th><th>p99</th><th>stable req</th><th>err</th><th>success</th><th>p50</th><th>p99</th></tr></thead><tbody>${rows}</tbody></table>
<h2 style="font-size:15px">Events</h2><ul>${events}</ul>
</body></html>
`
}

function cells(s: SideStats): string {
  return `<td>${s.requests}</td><td>${s.errors}</td><td>${fmt(s.successRate, ' %')}</td><td>${fmt(s.p50Ms, ' ms')}</td><td>${fmt(s.p99Ms, ' ms')}</td>`
}

/** 37 → 50, 120 → 200, 4 → 5: a round top for a latency axis. */
function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v))
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p
  return 10 * p
}
