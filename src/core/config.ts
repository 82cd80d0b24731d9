import { z } from 'zod'

/** A Kubernetes DNS-1123 label: the app, namespace and Deployment names. */
const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be lowercase letters, digits and "-" (DNS-1123 label)')
  .max(63)

/** Durations in edgecanary.yaml: `10s`, `1.5s`, `500ms`, `2m`. */
export const durationSchema = z
  .string()
  .regex(/^\d+(\.\d+)?(ms|s|m)$/, 'must be a duration like 10s, 500ms or 2m')

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

export const analysisSchema = z
  .object({
    interval: durationSchema.default('10s'),
    iterations: z.number().int().min(1).max(100).default(3),
    /** Failed checks tolerated before rollback (Flagger's threshold). */
    threshold: z.number().int().min(1).max(100).default(2),
    /** Minimum success rate of canary requests, percent. */
    successRate: z.number().min(0).max(100).default(99),
    /** Maximum p99 latency of canary requests, milliseconds. */
    maxLatencyMs: z.number().int().min(1).default(500),
    /** Built-in load, requests per second through the Service; 0 turns it off. */
    load: z.number().min(0).max(1000).default(10),
    /** Minimum canary responses per interval before rate/latency checks count. */
    minSamples: z.number().int().min(0).default(5),
  })
  .strict()

export const configSchema = z
  .object({
    app: dnsLabel.default('kubeapp'),
    namespace: dnsLabel.default('production'),
    /** Image repository without tag, e.g. `127.0.0.1:5000/kubeapp` or `registry.lan:5000/kubeapp`. */
    repository: z.string().min(1).optional(),
    registry: z.string().min(1).optional(),
    replicas: z.number().int().min(1).max(100).default(4),
    source: z.string().default('sample-app'),
    platforms: z.array(z.string()).default(['linux/arm64']),
    steps: z.array(z.number().min(1).max(99)).default([25, 50, 75]),
    analysis: analysisSchema.default(analysisSchema.parse({})),
    progressDeadline: durationSchema.default('60s'),
    readinessDeadline: durationSchema.default('60s'),
    leaseDuration: durationSchema.default('15s'),
    notify: z.array(z.string().url()).default([]),
    insecure: z.boolean().default(false),
  })
  .strict()

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
