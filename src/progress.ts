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
  }
}
