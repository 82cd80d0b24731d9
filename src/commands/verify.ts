import { Flags } from '@oclif/core'
import { BaseCommand, clusterFlags, configFlag } from '../base-command.js'
import { resolveContext } from '../cli/context.js'
import type { RequestSample } from '../core/analysis.js'
import { ReleaseFailed, UsageError } from '../errors.js'
import { externalUrl } from '../release/service-url.js'
import { bars, secondLine, summarize, type VerifyReport } from '../verify/report.js'
import { runRequests } from '../verify/traffic.js'

export default class Verify extends BaseCommand {
  static override description =
    'Show what users see: requests to the Service’s external address, each on a fresh connection (keep-alive would pin one pod), with the version distribution, errors, and p50/p99 per version; a loop longer than 2 s prints a line per second with the version shares, so the shift shows as it happens'
  static override examples = [
    '<%= config.bin %> verify',
    '<%= config.bin %> verify --requests 2000 --rate 200',
    '<%= config.bin %> verify --requests 200 --json',
    '<%= config.bin %> verify --url http://10.0.0.10 --expect-version 2.0 --max-errors 0',
  ]
  static override flags = {
    ...clusterFlags,
    ...configFlag,
    url: Flags.string({ description: 'URL to call (default: the app Service’s external address)' }),
    path: Flags.string({ description: 'path to request', default: '/version' }),
    requests: Flags.integer({ description: 'number of requests', default: 200, min: 1, max: 1_000_000 }),
    rate: Flags.integer({ description: 'requests per second', default: 20, min: 1, max: 10_000 }),
    concurrency: Flags.integer({ description: 'requests in flight at most', default: 64, min: 1, max: 1000 }),
    timeout: Flags.integer({
      description: 'per-request timeout in ms (1–60000)',
      default: 2000,
      min: 1,
      max: 60_000,
    }),
    'expect-version': Flags.string({ description: 'exit 1 unless every answer is this version' }),
    'max-errors': Flags.integer({ description: 'exit 1 when more requests than this fail', min: 0 }),
  }

  async run(): Promise<VerifyReport & { url: string }> {
    const { flags } = await this.parse(Verify)
    let base = flags.url
    if (base !== undefined) {
      // only http(s): anything else would reach fetch and end in a stack trace
      if (!URL.canParse(base) || !['http:', 'https:'].includes(new URL(base).protocol)) {
        throw new UsageError(`--url "${base.slice(0, 200)}" is not an http(s) URL`, {
          hint: 'e.g. --url http://127.0.0.1:8080',
        })
      }
    } else {
      const ctx = await resolveContext(flags, { findRelease: true })
      await ctx.cluster.ping()
      base = await externalUrl(ctx.cluster, ctx.namespace, ctx.app)
    }
    const url = new URL(flags.path, base).toString()
    this.info(`${flags.requests} requests to ${url} at ${flags.rate}/s, fresh connection each`)
    const perSecond = !this.jsonEnabled() && flags.requests / flags.rate > 2 ? secondTicker() : undefined
    const results = await runRequests({
      url,
      requests: flags.requests,
      rate: flags.rate,
      concurrency: flags.concurrency,
      timeoutMs: flags.timeout,
      onResult: perSecond?.add,
    }).finally(() => perSecond?.stop())
    const report = summarize(results)
    if (!this.jsonEnabled()) {
      for (const line of bars(report.versions)) process.stdout.write(`${line}\n`)
      for (const e of report.errors) process.stdout.write(`error ${e.kind}: ${e.count}\n`)
      process.stdout.write(
        `latency p50 ${report.p50Ms ?? '-'} ms, p99 ${report.p99Ms ?? '-'} ms; ${report.errorCount} error(s) in ${report.requests} requests\n`,
      )
    }
    const seen = Object.entries(report.versions).filter(([, v]) => v.count > 0)
    const other = seen.filter(([v]) => v !== flags['expect-version'])
    if (flags['expect-version'] && (other.length > 0 || report.errorCount > (flags['max-errors'] ?? 0))) {
      throw new ReleaseFailed(
        `expected only ${flags['expect-version']}, saw ${seen.map(([v, f]) => `${v} ${f.share}%`).join(', ') || 'no answer'}${report.errorCount ? ` and ${report.errorCount} error(s)` : ''}`,
        {
          hint: 'a release may be in progress (edgecanary status)',
          details: { report },
        },
      )
    }
    if (flags['max-errors'] !== undefined && report.errorCount > flags['max-errors']) {
      throw new ReleaseFailed(`${report.errorCount} request(s) failed (max ${flags['max-errors']})`, {
        hint: 'see the errors by kind above',
        details: { report },
      })
    }
    return { url, ...report }
  }
}

/** Prints, once a second, the version shares of the answers that arrived in that second. */
function secondTicker(): { add(r: RequestSample): void; stop(): void } {
  let bucket: RequestSample[] = []
  const flush = () => {
    process.stdout.write(`${secondLine(new Date().toISOString().slice(11, 19), bucket)}\n`)
    bucket = []
  }
  const timer = setInterval(flush, 1000)
  return {
    add: (r) => {
      bucket.push(r)
    },
    stop: () => {
      clearInterval(timer)
      if (bucket.length > 0) flush()
    },
  }
}
