import { Writable } from 'node:stream'
import { Listr, type ListrTaskWrapper } from 'listr2'
import type { Progress } from '../ports.js'
import { lineProgress } from '../progress.js'

/** How each cluster's lane ended, shown on its line. */
export interface LaneEnd {
  ok: boolean
  /** `skip`: the cluster was not released in this run (untouched, skipped, already done). */
  skip?: boolean
  summary: string
}

/** Progress of a fleet: one for the fleet itself (build, push), one per cluster. */
export interface FleetLanes {
  fleet: Progress
  lane(cluster: string): Progress
  /** Ends a cluster's lane (its listr2 task) with a summary. */
  end(cluster: string, how: LaneEnd): void
}

const noProgress: Progress = { step: () => ({ update() {}, done() {}, fail() {} }), note() {} }

/**
 * Runs `work` with one lane per cluster: concurrent listr2 tasks in a terminal, lines prefixed
 * with the cluster's name otherwise (`pi-shop-1 | [  1.2s] ✔ canary step 1`), nothing with
 * --json (EDGECANARY_DEBUG prints the lines there too).
 */
export async function withFleetLanes<T>(
  title: string,
  clusters: string[],
  opts: { json: boolean },
  work: (lanes: FleetLanes) => Promise<T>,
): Promise<T> {
  const quiet = opts.json && !process.env.EDGECANARY_DEBUG
  if (quiet) return work({ fleet: noProgress, lane: () => noProgress, end() {} })
  if (opts.json || !process.stderr.isTTY || process.env.CI === 'true') {
    const width = Math.max(5, ...clusters.map((c) => c.length))
    const lanes = new Map(clusters.map((c) => [c, lineProgress(prefixed(c.padEnd(width)))]))
    const fleet = lineProgress(prefixed('fleet'.padEnd(width)))
    return work({
      fleet,
      lane: (c) => lanes.get(c) ?? fleet,
      end: (c, how) => fleet.note(`${c}: ${how.skip ? '–' : how.ok ? '✔' : '✖'} ${how.summary}`),
    })
  }
  return withListrLanes(title, clusters, work)
}

/** A stream that writes each line to stderr behind `name | `. */
function prefixed(name: string): NodeJS.WritableStream {
  let partial = ''
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      const lines = (partial + chunk.toString()).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) process.stderr.write(`${name} | ${line}\n`)
      done()
    },
  })
}

type Task = ListrTaskWrapper<unknown, never, never>

/** The terminal: a listr2 task per cluster, run concurrently; each shows its current step. */
async function withListrLanes<T>(
  title: string,
  clusters: string[],
  work: (lanes: FleetLanes) => Promise<T>,
): Promise<T> {
  const ends = new Map<string, { resolve(how: LaneEnd): void; done: Promise<LaneEnd> }>()
  const tasks = new Map<string, Task>()
  const early = new Map<string, string>()
  for (const c of ['fleet', ...clusters]) {
    let resolve: (how: LaneEnd) => void = () => {}
    const done = new Promise<LaneEnd>((r) => {
      resolve = r
    })
    ends.set(c, { resolve, done })
  }
  const show = (c: string, text: string) => {
    const t = tasks.get(c)
    if (t) t.output = text
    else early.set(c, text)
  }
  const laneOf = (c: string): Progress => {
    const lines: string[] = []
    const render = (now?: string) => show(c, [...lines.slice(-3), ...(now ? [`… ${now}`] : [])].join('\n'))
    return {
      step(stepTitle) {
        render(stepTitle)
        return {
          update: (d) => render(`${stepTitle}: ${d}`),
          done: (s) => {
            lines.push(`✔ ${stepTitle}${s ? ` — ${s}` : ''}`)
            render()
          },
          fail: (r) => {
            lines.push(`✖ ${stepTitle} — ${r}`)
            render()
          },
        }
      },
      note: (line) => {
        lines.push(`  ${line}`)
        render()
      },
    }
  }
  const list = new Listr(
    ['fleet', ...clusters].map((c) => ({
      title: c === 'fleet' ? title : c,
      task: async (_ctx: unknown, task: Task) => {
        tasks.set(c, task)
        const pending = early.get(c)
        if (pending) task.output = pending
        const how = await ends.get(c)?.done
        if (!how) return
        if (how.skip) task.skip(`${c}: ${how.summary}`)
        else if (how.ok) task.title = `${c}: ${how.summary}`
        else throw new Error(`${c}: ${how.summary}`)
      },
      // one output entry: it already holds the lane's last three lines and its current step
      // (more entries repeat those lines, each update shifting them by one)
      rendererOptions: { persistentOutput: true, outputBar: 1 },
    })),
    {
      concurrent: true,
      exitOnError: false,
      renderer: 'default',
      rendererOptions: { collapseErrors: false, collapseSkips: false },
    },
  )
  const shown = list.run().catch(() => {})
  const ended = new Set<string>()
  const end = (c: string, how: LaneEnd) => {
    if (ended.has(c)) return
    ended.add(c)
    ends.get(c)?.resolve(how)
  }
  try {
    return await work({ fleet: laneOf('fleet'), lane: laneOf, end })
  } catch (err) {
    end('fleet', { ok: false, summary: (err as Error).message.split('\n')[0] })
    throw err
  } finally {
    end('fleet', { ok: true, summary: 'done' })
    for (const c of clusters) end(c, { ok: true, skip: true, summary: 'not released in this run' })
    await shown
  }
}
