import * as z from 'zod/mini'
import en from 'zod/v4/locales/en.js'

// zod/mini with the English messages: the same checks and messages as zod's classic API, at
// half its size and load time (the config is read at the start of every command)
z.config(en())

/** A Kubernetes DNS-1123 label: the app, namespace and Deployment names (also `--app` and `-n`). */
export const dnsLabel = z
  .string()
  .check(
    z.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be lowercase letters, digits and "-" (DNS-1123 label)'),
    z.maxLength(63),
  )

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m)$/

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
  const m = DURATION.exec(text)
  if (!m) throw new Error(`not a duration: ${text}`)
  const n = Number(m[1])
  return Math.round(m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000)
}

/**
 * A duration between `minMs` and `maxMs` (an unbounded one would overflow the timers):
 *
 *   durationBetween(100, 3_600_000).safeParse('2s') → ok;  …('99999999999999999999s') → 'must be between 100ms and 60m'
 */
export function durationBetween(minMs: number, maxMs: number) {
  const show = (ms: number) =>
    ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`
  return durationSchema.check(
    z.refine(
      (text) => !DURATION.test(text) || (parseDuration(text) >= minMs && parseDuration(text) <= maxMs),
      `must be between ${show(minMs)} and ${show(maxMs)}`,
    ),
  )
}

/** A webhook: http or https only (a `file:` or `javascript:` URL is refused where it is written). */
export const webhookUrl = z.url({
  protocol: /^https?$/,
  error: 'must be an http(s) URL, e.g. https://hooks.slack.com/…',
})

const between = (min: number, max: number) => z.number().check(z.minimum(min), z.maximum(max))
const intBetween = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.int().check(z.minimum(min), z.maximum(max))

/** Canary weights in percent, each 1–99 (ascending is checked by `parseSteps`). */
export const stepsSchema = () => z.array(between(1, 99)).check(z.maxLength(20))

/** The placeholders a metric's query may use (see src/core/prometheus.ts). */
export const QUERY_PLACEHOLDERS = ['app', 'namespace', 'track', 'interval'] as const

const metricSchema = z
  .strictObject({
    name: z
      .string()
      .check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be a short name (letters, digits, _ . -)')),
    query: z.string().check(
      z.minLength(1),
      z.maxLength(4096),
      z.refine(
        (q) =>
          [...q.matchAll(/{{\s*([^}]*?)\s*}}/g)].every((m) =>
            (QUERY_PLACEHOLDERS as readonly string[]).includes(m[1]),
          ),
        `may use only the placeholders ${QUERY_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}`,
      ),
    ),
    min: z.optional(z.number()),
    max: z.optional(z.number()),
  })
  .check(
    z.refine(
      (m) => m.min !== undefined || m.max !== undefined,
      'needs min or max (the range the value must stay in)',
    ),
    z.refine(
      (m) => m.min === undefined || m.max === undefined || m.min <= m.max,
      'min must not be above max',
    ),
  )

export const analysisSchema = z
  .strictObject({
    interval: z._default(durationBetween(100, 3_600_000), '10s'),
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
    /** Prometheus base URL (`http://prometheus.monitoring:9090`); the `metrics` queries go there. */
    prometheus: z.optional(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })),
    /** PromQL checks per analysis interval; a value outside [min, max] fails the check. */
    metrics: z._default(z.array(metricSchema), []),
  })
  .check(
    z.refine((a) => a.metrics.length === 0 || a.prometheus !== undefined, {
      message: 'metrics need analysis.prometheus (the Prometheus URL to query)',
      path: ['prometheus'],
    }),
  )

/**
 * One cluster of a fleet (`fleet:` in edgecanary.yaml): its kubeconfig context, and where it
 * differs from the top level, its namespace and registry (HOST[:PORT]; default: the registry
 * the cluster advertises in kube-public/local-registry-hosting).
 *
 *   fleet: [{ context: pi-shop-1 }, { context: pi-shop-2, namespace: shop, registry: 10.0.2.1:5000 }]
 */
export const fleetClusterSchema = z.strictObject({
  context: z
    .string()
    .check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._@:/-]*$/, 'must be a kubeconfig context name'), z.maxLength(253)),
  namespace: z.optional(dnsLabel),
  registry: z.optional(
    z.string().check(z.regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'must be HOST or HOST:PORT'), z.maxLength(260)),
  ),
})

export type FleetCluster = z.infer<typeof fleetClusterSchema>

export const configSchema = z.strictObject({
  app: z._default(dnsLabel, 'kubeapp'),
  namespace: z._default(dnsLabel, 'production'),
  /** Image repository without tag, e.g. `127.0.0.1:5000/kubeapp` or `registry.lan:5000/kubeapp`. */
  repository: z.optional(z.string().check(z.minLength(1))),
  registry: z.optional(z.string().check(z.minLength(1))),
  replicas: z._default(intBetween(1, 100), 4),
  source: z._default(z.string(), 'sample-app'),
  /** Image platforms, e.g. `[linux/arm64, linux/arm/v7]`; unset: the schedulable nodes' architectures. */
  platforms: z.optional(z.array(z.string())),
  steps: z._default(stepsSchema(), [25, 50, 75]),
  analysis: z._default(analysisSchema, analysisSchema.parse({})),
  progressDeadline: z._default(durationBetween(1000, 3_600_000), '60s'),
  readinessDeadline: z._default(durationBetween(1000, 3_600_000), '60s'),
  /** How long a starting canary's failed probes are tolerated (default: three periods of its readiness probe). */
  readinessWarmup: z.optional(durationBetween(0, 3_600_000)),
  leaseDuration: z._default(durationBetween(1000, 3_600_000), '15s'),
  notify: z._default(z.array(webhookUrl), []),
  insecure: z._default(z.boolean(), false),
  /** The clusters of a fleet release, in order (the first wave takes the first ones). */
  fleet: z.optional(
    z.array(fleetClusterSchema).check(
      z.minLength(1),
      z.maxLength(200),
      z.refine((xs) => new Set(xs.map((x) => x.context)).size === xs.length, 'names a context twice'),
    ),
  ),
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
