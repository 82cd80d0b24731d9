import { Listr } from 'listr2'
import type { Progress, StepHandle } from './ports.js'

/**
 * Progress as plain lines on stderr: used when stderr is not a TTY (CI=true, pipes) and with
 * --json (stdout stays one document). `[  1.2s] ✔ title — summary`.
 */
export function lineProgress(
  stream: NodeJS.WritableStream = process.stderr,
  now: () => number = Date.now,
): Progress {
  const start = now()
  const stamp = () => `[${((now() - start) / 1000).toFixed(1).padStart(5)}s]`
  return {
    step(title: string): StepHandle {
      stream.write(`${stamp()} … ${title}\n`)
      return {
        update: (detail) => stream.write(`${stamp()}   ${title}: ${detail}\n`),
        done: (summary) => stream.write(`${stamp()} ✔ ${title}${summary ? ` — ${summary}` : ''}\n`),
        fail: (reason) => stream.write(`${stamp()} ✖ ${title} — ${reason}\n`),
      }
    },
    note: (line) => stream.write(`${stamp()}   ${line}\n`),
    lane: (key, text) => stream.write(`${stamp()}   ${key}: ${text}\n`),
  }
}

/**
 * Runs `work` with visible progress: a listr2 task in a TTY (its title follows the current
 * step, finished steps stay listed below it), plain lines otherwise, nothing with --json.
 * Returns what `work` returns; rethrows what it throws.
 */
export async function withProgress<T>(
  title: string,
  opts: { json: boolean },
  work: (progress: Progress) => Promise<T>,
): Promise<T> {
  if (opts.json) return work(lineProgressIfDebug())
  if (!process.stderr.isTTY || process.env.CI === 'true') return work(lineProgress())
  let result: T | undefined
  const list = new Listr(
    [
      {
        title,
        task: async (_ctx, task) => {
          const lines: string[] = []
          const lanes = new Map<string, string>()
          let now: string | undefined
          const show = (current?: string) => {
            now = current
            task.output = [
              ...lines,
              ...[...lanes].map(([k, v]) => `  ${k.padEnd(24)} ${v}`),
              ...(current ? [`… ${current}`] : []),
            ].join('\n')
          }
          result = await work({
            step(stepTitle) {
              show(stepTitle)
              return {
                update: (detail) => show(`${stepTitle}: ${detail}`),
                done: (summary) => {
                  lines.push(`✔ ${stepTitle}${summary ? ` — ${summary}` : ''}`)
                  show()
                },
                fail: (reason) => {
                  lines.push(`✖ ${stepTitle} — ${reason}`)
                  show()
                },
              }
            },
            note: (line) => {
              lines.push(`  ${line}`)
              show(now)
            },
            lane: (key, text) => {
              lanes.set(key, text)
              show(now)
            },
          })
        },
        rendererOptions: { persistentOutput: true, outputBar: 1 },
      },
    ],
    {
      renderer: 'default',
      exitOnError: true,
      // the command prints the error once, as `Error: … / Hint: …` (with the resume hint on
      // Ctrl-C): listr2 keeps the task's title instead of printing the message a second time
      rendererOptions: { showErrorMessage: false },
      // listr2's own SIGINT handler exits 127 at once, before the command can stop at a safe
      // point and say how to resume: the commands handle SIGINT themselves
      registerSignalListeners: false,
    },
  )
  await list.run()
  return result as T
}

function lineProgressIfDebug(): Progress {
  if (process.env.EDGECANARY_DEBUG) return lineProgress()
  return { step: () => ({ update() {}, done() {}, fail() {} }), note() {} }
}
