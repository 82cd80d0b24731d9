import { UsageError } from './errors.js'

/** Reads a secret from stdin (first line, trailing newline removed). Never echoed or logged. */
export async function readPasswordStdin(stdin: NodeJS.ReadStream = process.stdin): Promise<string> {
  if (stdin.isTTY) {
    throw new UsageError('--password-stdin expects the password on stdin', {
      hint: 'e.g. echo "$PASS" | edgecanary ...',
    })
  }
  const chunks: Buffer[] = []
  for await (const c of stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0]
}
