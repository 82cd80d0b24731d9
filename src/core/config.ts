import * as z from 'zod/mini'
import en from 'zod/v4/locales/en.js'

// zod/mini with the English messages: the same checks and messages as zod's classic API, at
// half its size and load time (the config is read at the start of every command)
z.config(en())

/** A Kubernetes DNS-1123 label: the app, namespace and Deployment names. */
const dnsLabel = z
  .string()
  .check(
    z.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be lowercase letters, digits and "-" (DNS-1123 label)'),
    z.maxLength(63),
  )

/** Durations in edgecanary.yaml: `10s`, `1.5s`, `500ms`, `2m`. */
export const durationSchema = z
  .string()
  .check(z.regex(/^\d+(\.\d+)?(ms|s|m)$/, 'must be a duration like 10s, 500ms or 2m'))

/**
 * Parses a duration string to milliseconds.
 *
 *   parseDuration('10s') → 10000;  parseDuration('500ms') → 500;  parseDuration('2m') → 120000
 */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text)
  if (!m) throw new Error(`not a duration: ${text}`)
  const n = Number(m[1])
  return Math.round(m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000)
}

const between = (min: number, max: number) => z.number().check(z.minimum(min), z.maximum(max))
const intBetween = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.int().check(z.minimum(min), z.maximum(max))

export const analysisSchema = z.strictObject({
  interval: z._default(durationSchema, '10s'),
  iterations: z._default(intBetween(1, 100), 3),
  /** Failed checks tolerated before rollback (Flagger's threshold). */
  threshold: z._default(intBetween(1, 100), 2),
  /** Minimum success rate of canary requests, percent. */
  successRate: z._default(between(0, 100), 99),
  /** Maximum p99 latency of canary requests, milliseconds. */
  maxLatencyMs: z._default(intBetween(1), 500),
  /** Built-in load, requests per second through the Service; 0 turns it off. */
  load: z._default(between(0, 1000), 10),
  /** Minimum canary responses per interval before rate/latency checks count. */
  minSamples: z._default(intBetween(0), 5),
})

export const configSchema = z.strictObject({
  app: z._default(dnsLabel, 'kubeapp'),
  namespace: z._default(dnsLabel, 'production'),
  /** Image repository without tag, e.g. `127.0.0.1:5000/kubeapp` or `registry.lan:5000/kubeapp`. */
  repository: z.optional(z.string().check(z.minLength(1))),
  registry: z.optional(z.string().check(z.minLength(1))),
  replicas: z._default(intBetween(1, 100), 4),
  source: z._default(z.string(), 'sample-app'),
  platforms: z._default(z.array(z.string()), ['linux/arm64']),
  steps: z._default(z.array(between(1, 99)), [25, 50, 75]),
  analysis: z._default(analysisSchema, analysisSchema.parse({})),
  progressDeadline: z._default(durationSchema, '60s'),
  readinessDeadline: z._default(durationSchema, '60s'),
  /** How long a starting canary's failed probes are tolerated (default: three periods of its readiness probe). */
  readinessWarmup: z.optional(durationSchema),
  leaseDuration: z._default(durationSchema, '15s'),
  notify: z._default(z.array(z.url()), []),
  insecure: z._default(z.boolean(), false),
})

export type Config = z.infer<typeof configSchema>
export type AnalysisConfig = z.infer<typeof analysisSchema>

/**
 * Validates a parsed edgecanary.yaml document. Returns the config with defaults, or the list
 * of problems, each naming the field: `analysis.interval: must be a duration like 10s, ...`.
 *
 *   validateConfig({ app: 'Kube' }) → { ok: false, problems: ['app: must be lowercase ...'] }
 */
export function validateConfig(
  doc: unknown,
): { ok: true; config: Config } | { ok: false; problems: string[] } {
  const r = configSchema.safeParse(doc ?? {})
  if (r.success) return { ok: true, config: r.data }
  const problems = r.error.issues.map((i) => {
    const field = i.path.join('.') || '(top level)'
    return `${field}: ${i.message}`
  })
  return { ok: false, problems }
}
