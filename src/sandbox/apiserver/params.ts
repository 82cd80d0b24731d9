import { badRequest } from '../api-errors.js'

/**
 * A boolean query parameter as apimachinery converts it (Convert_Slice_string_To_bool): absent
 * is false; present is true unless it is "0" or "false" in any case — so `watch=True`,
 * `watch=1` and a bare `watch=` all ask for a watch.
 *
 *   queryBool(new URLSearchParams('watch=True'), 'watch') → true
 *   queryBool(new URLSearchParams('watch=FALSE'), 'watch') → false
 *   queryBool(new URLSearchParams(''), 'watch') → false
 */
export function queryBool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name)
  if (v === null) return false
  return !(v === '0' || v.toLowerCase() === 'false')
}

/**
 * An integer query parameter as strconv.ParseInt reads it (base 10, optional sign, 64-bit);
 * anything else is kube-apiserver's 400 with Go's message.
 *
 *   queryInt(new URLSearchParams('timeoutSeconds=30'), 'timeoutSeconds') → 30
 *   queryInt(new URLSearchParams('limit=x'), 'limit') → throws 400 'strconv.ParseInt: parsing "x": invalid syntax'
 */
export function queryInt(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name)
  if (v === null) return undefined
  if (!/^[+-]?\d+$/.test(v))
    throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`)
  const n = BigInt(v)
  if (n > 9223372036854775807n || n < -9223372036854775808n)
    throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(v)}: value out of range`)
  return Number(n)
}

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
}

/**
 * A Go duration (time.ParseDuration: `5s`, `1m30s`, `1.5h`, `300ms`, `0`) in milliseconds, or
 * undefined for text Go would refuse.
 *
 *   parseGoDuration('1m30s') → 90000;  parseGoDuration('5') → undefined
 */
export function parseGoDuration(text: string): number | undefined {
  let s = text
  let sign = 1
  if (s.startsWith('-') || s.startsWith('+')) {
    sign = s[0] === '-' ? -1 : 1
    s = s.slice(1)
  }
  if (s === '0') return 0
  if (s === '') return undefined
  let total = 0
  const part = /^(\d*\.?\d*)(ns|us|µs|μs|ms|s|m|h)/
  while (s.length > 0) {
    const m = part.exec(s)
    if (!m || m[1] === '' || m[1] === '.') return undefined
    total += Number(m[1]) * UNIT_MS[m[2]]
    s = s.slice(m[0].length)
  }
  return sign * total
}

/**
 * The `timeout` query parameter every request may carry (a Go duration); a bad one is
 * kube-apiserver's 400.
 *
 *   queryTimeout(new URLSearchParams('timeout=32s')) → 32000
 *   queryTimeout(new URLSearchParams('timeout=soon')) → throws 400 'invalid timeout specified in the request URL'
 */
export function queryTimeout(q: URLSearchParams): number | undefined {
  const v = q.get('timeout')
  if (v === null || v === '') return undefined
  const ms = parseGoDuration(v)
  if (ms === undefined || ms < 0) throw badRequest('invalid timeout specified in the request URL')
  return ms
}

/**
 * `dryRun` as kube-apiserver takes it: absent, or `All` (each value of the list); anything else
 * is a 400.
 *
 *   queryDryRun(new URLSearchParams('dryRun=All')) → true
 */
export function queryDryRun(q: URLSearchParams): boolean {
  const values = q.getAll('dryRun')
  for (const v of values)
    if (v !== 'All') throw badRequest(`Invalid dryRun value: ${JSON.stringify(v)}: supported values: "All"`)
  return values.length > 0
}

/**
 * `includeObject` of a Table request: `None`, `Metadata` (the default) or `Object`.
 *
 *   queryIncludeObject(new URLSearchParams('includeObject=Object')) → 'Object'
 */
export function queryIncludeObject(q: URLSearchParams): 'None' | 'Metadata' | 'Object' {
  const v = q.get('includeObject') ?? ''
  if (v === '' || v === 'Metadata') return 'Metadata'
  if (v === 'None' || v === 'Object') return v
  throw badRequest(
    `includeObject: Unsupported value: ${JSON.stringify(v)}: supported values: "Metadata", "None", "Object"`,
  )
}
