/**
 * One meaningful line from an oclif parse error, whose message spreads the detail over
 * several lines (so the first line alone says `Missing 1 required arg:` or `Parsing --replicas`).
 *
 *   parseErrorLine('Missing 1 required arg:\nversion  version to release\nSee more help with --help')
 *   → 'missing argument VERSION'
 *   parseErrorLine('Parsing --replicas \n\tExpected an integer greater than or equal to 1 but received: 0\nSee more help with --help')
 *   → '--replicas: expected an integer ≥ 1, got 0'
 */
export function parseErrorLine(message: string): string {
  const lines = message.split('\n')
  const first = lines[0].trim()
  const rest = lines.slice(1).filter((l) => !/^See more help/.test(l.trim()))
  if (/^Missing \d+ required args?:?$/.test(first)) {
    // `name  description` per argument; indented lines continue a description
    const names: string[] = []
    for (const line of rest) {
      if (!line.trim()) break
      if (/^\s/.test(line)) continue
      const [name, ...desc] = line.trim().split(/\s{2,}/)
      const options = /^\(([^()]*\|[^()]*)\)/.exec(desc.join(' '))
      names.push(`${name.toUpperCase()}${options ? ` (one of ${options[1].split('|').join(', ')})` : ''}`)
    }
    if (names.length === 0) return 'missing required argument'
    return `missing argument${names.length > 1 ? 's' : ''} ${names.join(', ')}`
  }
  const parsing = /^Parsing (--[\w-]+)/.exec(first)
  if (parsing) {
    const detail = rest.map((l) => l.trim()).find(Boolean)
    return `${parsing[1]}: ${detail ? humanise(detail) : 'invalid value'}`
  }
  if (first.endsWith(':')) {
    const details = rest.map((l) => l.trim()).filter(Boolean)
    if (details.length > 0) return `${first} ${details.join('; ')}`
  }
  return first
}

function humanise(detail: string): string {
  const text = detail
    .replace(/ greater than or equal to /g, ' ≥ ')
    .replace(/ less than or equal to /g, ' ≤ ')
    .replace(/ but received: /g, ', got ')
  return text.charAt(0).toLowerCase() + text.slice(1)
}
