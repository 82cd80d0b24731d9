import { existsSync, readFileSync } from 'node:fs'
import { parseDocument } from 'yaml'
import { type Config, validateConfig } from './core/config.js'
import { ConfigError } from './errors.js'

/**
 * Loads edgecanary.yaml. A missing file is fine when `required` is false (defaults apply);
 * a broken file is always a ConfigError naming the file, the field and the problem.
 */
export function loadConfig(
  path: string,
  opts: { required?: boolean } = {},
): { config: Config; found: boolean } {
  if (!existsSync(path)) {
    if (opts.required) {
      throw new ConfigError(`${path} not found`, {
        hint: 'run `edgecanary init` first, or pass --config PATH',
      })
    }
    return { config: validateOrThrow({}, path), found: false }
  }
  const doc = parseDocument(readFileSync(path, 'utf8'))
  if (doc.errors.length > 0) {
    const e = doc.errors[0]
    throw new ConfigError(`${path}: invalid YAML: ${e.message.split('\n')[0]}`, {
      hint: 'fix the YAML syntax (indentation, colons) and run again',
    })
  }
  return { config: validateOrThrow(doc.toJS(), path), found: true }
}

function validateOrThrow(doc: unknown, path: string): Config {
  const r = validateConfig(doc)
  if (r.ok) return r.config
  throw new ConfigError(`${path}: ${r.problems[0]}`, {
    hint:
      r.problems.length > 1
        ? `${r.problems.length - 1} more problem(s): ${r.problems.slice(1).join('; ')}`
        : 'see the configuration reference in README.md',
  })
}
