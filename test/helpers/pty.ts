import { spawn } from 'node:child_process'
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface PtyRun {
  /** Everything written to the terminal so far (escape sequences included). */
  output(): string
  /** Types `keys` into the terminal, e.g. '\x03' (Ctrl-C). */
  type(keys: string): void
  /** The exit code (128+N for signal N) and the whole terminal output. */
  exited: Promise<{ status: number | null; output: string }>
  pid: number
}

/**
 * Runs `command` in a real pseudo-terminal (Python's pty module: a new session whose
 * controlling terminal is the pty, stdin/stdout/stderr all the terminal), so isTTY is true,
 * and a typed Ctrl-C becomes SIGINT for its foreground process group, as in a shell.
 */
export function runInPty(
  command: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; cols?: number; rows?: number; timeoutMs?: number } = {},
): PtyRun {
  const keys = mkdtempSync(join(tmpdir(), 'ec-pty-'))
  const child = spawn(
    'python3',
    [
      join(import.meta.dirname, 'pty-run.py'),
      keys,
      String(opts.cols ?? 120),
      String(opts.rows ?? 40),
      '--',
      ...command,
    ],
    { env: { TERM: 'xterm-256color', ...opts.env }, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let out = ''
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
  })
  let n = 0
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000)
  const exited = new Promise<{ status: number | null; output: string }>((resolve) =>
    child.on('close', (status) => {
      clearTimeout(timer)
      rmSync(keys, { recursive: true, force: true })
      resolve({ status, output: out })
    }),
  )
  return {
    output: () => out,
    type(k) {
      // written whole, then renamed in: the reader never sees half a file
      const tmp = join(keys, `.${n}`)
      writeFileSync(tmp, k)
      renameSync(tmp, join(keys, String(n++).padStart(6, '0')))
    },
    exited,
    pid: child.pid ?? 0,
  }
}
