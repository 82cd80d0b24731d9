import { appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { Args, Flags } from '@oclif/core'
import { BaseCommand, clusterFlags, configFlag } from '../base-command.js'
import { platformsForCluster } from '../build/cluster-platforms.js'
import { buildAndPush } from '../build/index.js'
import { resolveContext } from '../cli/context.js'
import { buildSource } from '../cli/source.js'
import { parseDuration } from '../core/config.js'
import { defaultReleaseSettings, envFlags, releaseSettings } from '../core/release-flags.js'
import { planSteps } from '../core/release-plan.js'
import { releaseReport } from '../core/timeline.js'
import { Interrupted, UsageError } from '../errors.js'
import { fleetReleaseFlags, isFleet, releaseFleet } from '../fleet/cli.js'
import type { Cluster } from '../ports.js'
import { withProgress } from '../progress.js'
import { assertValidVersion, parseImageRef } from '../registry/reference.js'
import { resolveImageDigest } from '../registry/resolve.js'
import { canaryDeployment, type ReleaseResult, runRelease } from '../release/engine.js'
import { preflight, readClusterFacts } from '../release/preflight.js'
import { findRelease } from '../report/find-release.js'
import { markdownReport } from '../report/markdown.js'
import { edgecanaryHome } from '../sandbox/paths.js'

export default class Release extends BaseCommand {
  static override description =
    `Release a version as a replica-ratio canary: build and push it, add canary pods beside the stable ones behind the same Service (3:1, then stepwise), gate and analyse each step, then promote or roll back by itself.

Defaults: analysis interval 10s × 3 iterations per step, failed-check threshold 2, built-in load 10 req/s (--load 0 turns it off), minimum sample size 5 canary responses per interval before success rate and latency count, success rate ≥ 99 %, p99 ≤ 500 ms, progress deadline 60s, readiness deadline 60s, Lease 15s. A canary 5xx rolls back at once; so does a starting canary whose /health or /version keeps failing (or refuses connections) past a warm-up of three readiness-probe periods, or answers a wrong /version. Set them in edgecanary.yaml (analysis.*, progressDeadline, readinessDeadline, readinessWarmup, leaseDuration).

The sample app (the default source) has fault switches for demos and tests, read from its environment; --env sets them on the canary pods only:
FAIL_RATE=0.3: that share of requests to / and /version answers 500 (deterministic: 0.3 fails the 4th, 7th, 10th…)
HEALTH_STATUS=500: /health answers this status, so the pods never become Ready (readiness fast-fail)
LATENCY_MS=300: every request to / and /version waits this long first (the p99 check)
CRASH_AFTER_S=5: the process exits 1 after this many seconds (restarts, then CrashLoopBackOff)
READY_AFTER_S=20: /health answers 503 for this long after start; ALLOC_MB=64: holds that much memory (OOMKilled over a limit)`
  static override examples = [
    '<%= config.bin %> release 2.0',
    '<%= config.bin %> release 2.1 --steps 25,50 --pause',
    '<%= config.bin %> release 2.0 --interval 2s --iterations 2',
    '<%= config.bin %> release 2.0 --json > release-2.0.json',
    '<%= config.bin %> release 3.0 --env FAIL_RATE=0.3',
    '<%= config.bin %> release 3.1 --env HEALTH_STATUS=500',
    '<%= config.bin %> release 3.2 --env LATENCY_MS=800 --env CRASH_AFTER_S=30',
    '<%= config.bin %> release 2.0 --image 127.0.0.1:5000/kubeapp:2.0@sha256:… --dry-run',
    '<%= config.bin %> release 2.0 --contexts pi-shop-1,pi-shop-2,pi-shop-3 --waves 1,50%,100%',
  ]
  static override args = {
    version: Args.string({ required: true, description: 'version to release (the image tag)' }),
  }
  static override flags = {
    ...clusterFlags,
    ...configFlag,
    image: Flags.string({ description: 'release this image instead of building one' }),
    source: Flags.string({ description: 'Go source to build (default: from edgecanary.yaml)' }),
    steps: Flags.string({ description: 'canary weights in percent, ascending (default 25,50,75)' }),
    pause: Flags.boolean({ description: 'wait for `edgecanary promote --step` after each step' }),
    env: Flags.string({ description: 'K=V set on the canary pods only (repeatable)', multiple: true }),
    interval: Flags.string({ description: 'analysis interval (default 10s)' }),
    iterations: Flags.integer({ description: 'analysis intervals per step (default 3)', min: 1 }),
    load: Flags.integer({
      description: 'built-in load in requests/s through the Service (0: off; default 10)',
      min: 0,
    }),
    notify: Flags.string({
      description: 'webhook URL for Slack, Teams, Discord or generic JSON (repeatable)',
      multiple: true,
    }),
    'dry-run': Flags.boolean({ description: 'print the plan (replica table, objects) and change nothing' }),
    'skip-preflight': Flags.boolean({
      description: 'skip the image/arch checks (tests of the engine’s own fast-fail use it)',
    }),
    ...fleetReleaseFlags,
  }

  async run(): Promise<ReleaseResult | object> {
    const { args, flags } = await this.parse(Release)
    // a fleet (--contexts, or fleet: in edgecanary.yaml): the same release per cluster, in waves (src/fleet)
    if (isFleet(flags))
      return releaseFleet(args.version, flags, { json: this.jsonEnabled(), info: (l) => this.info(l) })
    assertValidVersion(args.version)
    const parsedEnv = envFlags(flags.env)
    if (!parsedEnv.ok) throw new UsageError(parsedEnv.problem, { hint: parsedEnv.hint })
    const env = parsedEnv.env
    if (flags.image !== undefined) parseImageRef(flags.image)
    // every flag is checked by the schema that checks edgecanary.yaml, before the cluster is asked
    const checked = releaseSettings(defaultReleaseSettings(), flags)
    if (!checked.ok) throw new UsageError(checked.problem, { hint: checked.hint })
    const ctx = await resolveContext(flags, { findRelease: true })
    const cfg = ctx.config
    const settings = releaseSettings(cfg, flags)
    if (!settings.ok) throw new UsageError(settings.problem, { hint: settings.hint })
    const { analysis, steps: weights } = settings
    // the first request names an unreachable cluster as such (the adapter's UnreachableError)
    // and finds the app
    const asked = ctx.cluster.getDeployment(ctx.namespace, cfg.app).then((stable) => {
      if (!stable)
        throw new UsageError(`Deployment ${ctx.namespace}/${cfg.app} not found`, {
          hint: 'run `edgecanary init` first, or pass -n NAMESPACE',
        })
      return stable
    })
    // awaited below; a refusal before that (a config error) must not leave it unhandled
    asked.catch(() => {})
    const replicas = cfg.replicas
    const steps = planSteps(replicas, weights)
    if (flags['dry-run']) {
      const stable = await asked
      const image = flags.image ?? `${cfg.repository ?? '<registry>/' + cfg.app}:${args.version}`
      const plan = {
        app: cfg.app,
        namespace: ctx.namespace,
        version: args.version,
        image,
        steps: steps.map((s, i) => ({ step: i + 1, ...s })),
        objects: [
          {
            action: 'create-or-update',
            kind: 'Deployment',
            name: `${cfg.app}-canary`,
            spec: canaryDeployment(stable, cfg.app, image, env, 0, parseDuration(cfg.progressDeadline) / 1000)
              .spec,
          },
          {
            action: 'patch',
            kind: 'Deployment',
            name: cfg.app,
            fields: [
              'spec.replicas (per step)',
              'spec.template image (promotion)',
              'metadata.annotations edgecanary.dev/release',
            ],
          },
          { action: 'create-or-update', kind: 'Lease', name: `edgecanary-${cfg.app}` },
          { action: 'create-or-update', kind: 'ConfigMap', name: `edgecanary-${cfg.app}-history` },
        ],
      }
      this.info(`plan for ${cfg.app} ${args.version} (${replicas} pods), nothing is changed:`)
      for (const s of steps)
        this.info(
          `  step: stable ${s.stable} : canary ${s.canary}  (${s.actualPercent}% of pods, asked ${s.weight}%)`,
        )
      this.info('  then: promote (stable → new image, canary → 0)')
      return plan
    }
    if (!flags.image && !cfg.repository)
      throw new UsageError('no image repository configured', {
        hint: 'run `edgecanary init`, or pass --image',
      })
    const ac = new AbortController()
    const onSigint = () => ac.abort()
    // `on`, not `once`: a `once` listener is gone before the others run, and then the terminal
    // renderer's signal-exit sees itself alone and re-raises SIGINT (exit by signal, no message)
    process.on('SIGINT', onSigint)
    process.on('SIGTERM', onSigint)
    // Ctrl-C before the engine took over: nothing in the cluster changed, nothing to resume
    let started = false
    const notStarted = () =>
      new Interrupted(`release ${args.version} interrupted before it started: nothing changed`, {
        hint: `run \`edgecanary release ${args.version}\` again when ready`,
      })
    try {
      return await withProgress(
        `release ${cfg.app} ${args.version}`,
        { json: this.jsonEnabled() },
        async (progress) => {
          // the cluster half of the preflight is read while the image is built and pushed
          // asked once the first answer came: over its kept-alive connection, not a TLS handshake each
          const facts = flags['skip-preflight']
            ? undefined
            : asked.then(() => readClusterFacts(ctx.cluster, ctx.namespace))
          facts?.catch(() => {})
          // the image is built while the cluster answers; it is pushed only once the cluster is
          // reachable and the app found, and a refusal stops a compile that is still running
          const stopBuild = new AbortController()
          // Ctrl-C while building (the compiler gets the terminal's SIGINT too) stops the build
          ac.signal.addEventListener('abort', () => stopBuild.abort(), { once: true })
          const source = buildSource(flags.source, cfg.source)
          if (source.note && !flags.image) progress.note(source.note)
          // platforms: as edgecanary.yaml says, else the schedulable nodes' architectures; a
          // list that leaves out a node is refused before anything is built or applied
          const built = flags.image
            ? undefined
            : platformsForCluster(ctx.cluster, cfg.platforms, 'platforms: in edgecanary.yaml').then(
                (chosen) => {
                  progress.note(chosen.note)
                  return buildAndPush({
                    source: source.dir,
                    version: args.version,
                    repo: cfg.repository ?? '',
                    platforms: chosen.platforms,
                    cacheDir: join(edgecanaryHome(), 'cache'),
                    insecure: cfg.insecure,
                    progress,
                    pushAfter: asked,
                    signal: stopBuild.signal,
                  })
                },
              )
          built?.catch(() => {})
          await asked.catch((err: unknown) => {
            stopBuild.abort()
            throw err
          })
          let image = built ? (await built).image : (flags.image ?? '')
          if (!flags['skip-preflight'])
            image = (
              await preflight(
                ctx.cluster,
                {
                  image,
                  insecure: cfg.insecure,
                  namespace: ctx.namespace,
                  app: cfg.app,
                },
                facts,
              )
            ).image
          else {
            // no preflight: still deploy by digest when the registry knows the tag; an image it
            // does not know (or cannot be asked about) stays as given, so the engine's own
            // fast-fail (ErrImagePull, exec format error) is what decides
            const pinned = await resolveImageDigest(image, { insecure: cfg.insecure }).catch(() => undefined)
            if (!pinned)
              progress.note(`--skip-preflight: ${image} is not in the registry; deploying it as given`)
            image = pinned ?? image
          }
          if (ac.signal.aborted) throw notStarted()
          started = true
          const r = await runRelease(
            { cluster: ctx.cluster, progress, signal: ac.signal },
            {
              app: cfg.app,
              namespace: ctx.namespace,
              version: args.version,
              image,
              steps,
              replicas,
              env,
              analysis,
              readinessDeadlineMs: parseDuration(cfg.readinessDeadline),
              ...(cfg.readinessWarmup ? { readinessWarmupMs: parseDuration(cfg.readinessWarmup) } : {}),
              progressDeadlineMs: parseDuration(cfg.progressDeadline),
              leaseSeconds: parseDuration(cfg.leaseDuration) / 1000,
              pause: flags.pause,
              notify: settings.notify,
            },
          )
          this.info(
            r.noop
              ? `${cfg.app} ${args.version} was already released`
              : `${cfg.app} ${args.version} promoted in ${(r.durationMs / 1000).toFixed(1)}s`,
          )
          return r
        },
      )
    } catch (err) {
      // a build or preflight that failed because of the Ctrl-C is the interruption, not an error
      if (ac.signal.aborted && !started && !(err instanceof Interrupted)) throw notStarted()
      throw err
    } finally {
      process.off('SIGINT', onSigint)
      process.off('SIGTERM', onSigint)
      const summary = process.env.GITHUB_STEP_SUMMARY
      // the engine ran: a GitHub Actions step summary gets the release's report, however it ended
      if (started && summary)
        await appendStepSummary(ctx.cluster, ctx.namespace, cfg.app, args.version, summary)
    }
  }
}

/** Appends the release's Markdown report to GitHub Actions' step summary; failing to is only a warning. */
async function appendStepSummary(cluster: Cluster, ns: string, app: string, version: string, file: string) {
  try {
    const found = await findRelease(cluster, ns, app, version)
    if (found) appendFileSync(file, `${markdownReport(releaseReport(found))}\n`)
  } catch (err) {
    process.stderr.write(`warning: could not write the step summary to ${file}: ${(err as Error).message}\n`)
  }
}
