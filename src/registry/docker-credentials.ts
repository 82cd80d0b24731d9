import { spawn } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { UsageError } from '../errors.js'
import { type Credentials, credentialSource, dockerConfigFile, parseHelperAnswer } from './auth.js'

const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const MAX_OUTPUT = 64 * 1024
const MAX_CONFIG = 4 * 1024 * 1024
const HELPER_TIMEOUT_MS = 30_000

/**
 * A registry's credentials as docker finds them: the config file (`$DOCKER_CONFIG/config.json`
 * or `~/.docker/config.json`), then `credHelpers[<host>]`, `credsStore`, or its `auths`
 * (`auth`, `username`/`password`, `identitytoken`). A helper runs as
 * `docker-credential-<name> get` with the server address on stdin (nothing secret on a command
 * line) and answers JSON on stdout. A helper that is missing, fails or answers garbage is a
 * UsageError (exit 2) naming it, raised before anything is built or pushed; "credentials not
 * found" means anonymous, as for docker.
 */
export async function dockerCredentials(
  registry: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Credentials | undefined> {
  const file = dockerConfigFile(env)
  if (!existsSync(file)) return undefined
  let doc: unknown
  try {
    if (statSync(file).size > MAX_CONFIG) throw new Error(`larger than ${MAX_CONFIG} bytes`)
    doc = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new UsageError(`docker config ${file} cannot be read: ${(err as Error).message.split('\n')[0]}`, {
      hint: 'fix the file (it is JSON), or point DOCKER_CONFIG at another directory',
    })
  }
  const source = credentialSource(doc, registry)
  if (source.kind === 'file') return source.credentials
  const program = `docker-credential-${source.helper}`
  const where = `${source.via} of ${file}`
  if (!HELPER_NAME.test(source.helper)) {
    throw new UsageError(`docker credential helper name "${source.helper}" (${where}) is not a plain name`, {
      hint: 'name a helper such as "pass" or "secretservice": docker runs docker-credential-<name> from PATH',
    })
  }
  const r = await runHelper(program, source.serverUrl, env)
  if ('missing' in r) {
    throw new UsageError(`docker credential helper ${program} (${where}) is not on PATH`, {
      hint: `install ${program}, or remove "${source.via === 'credsStore' ? 'credsStore' : `credHelpers.${registry}`}" from ${file}`,
    })
  }
  const answer = parseHelperAnswer(r.code, r.stdout)
  if ('notFound' in answer) return undefined
  if ('invalid' in answer) {
    // the helper's own words say why (locked keychain, expired login); never its stdout, which may hold a secret
    const why = r.stderr.trim().split('\n')[0]?.slice(0, 200)
    throw new UsageError(
      `docker credential helper ${program} (${where}) failed for ${registry}: ${answer.invalid}${why ? `: ${why}` : ''}`,
      {
        hint: `run \`echo ${source.serverUrl} | ${program} get\` to see why, or log in again (docker login ${registry})`,
      },
    )
  }
  return answer.credentials
}

function runHelper(
  program: string,
  serverUrl: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string } | { missing: true }> {
  return new Promise((resolve) => {
    const child = spawn(program, ['get'], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    let size = 0
    const take = (into: Buffer[]) => (c: Buffer) => {
      size += c.length
      if (size > MAX_OUTPUT) child.kill('SIGKILL')
      else into.push(c)
    }
    child.stdout.on('data', take(out))
    child.stderr.on('data', take(err))
    const timer = setTimeout(() => child.kill('SIGKILL'), HELPER_TIMEOUT_MS)
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      resolve(
        e.code === 'ENOENT' || e.code === 'EACCES'
          ? { missing: true }
          : { code: 127, stdout: '', stderr: e.message },
      )
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({
        code: code ?? 128,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: signal
          ? `killed by ${signal} (no answer within ${HELPER_TIMEOUT_MS / 1000} s, or more than ${MAX_OUTPUT} bytes)`
          : Buffer.concat(err).toString('utf8'),
      })
    })
    child.stdin.on('error', () => {})
    child.stdin.end(serverUrl)
  })
}
