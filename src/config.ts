import { existsSync, readFileSync } from 'node:fs'
import { parseDocument } from 'yaml'
import { type Config, validateConfig } from './core/config.js'
import { ConfigError } from './errors.js'

/** The config file every command reads when no --config is given. */
export const DEFAULT_CONFIG_PATH = 'edgecanary.yaml'

/**
 * Loads edgecanary.yaml. Only the default `edgecanary.yaml` may be missing (defaults apply);
 * a file named with --config must exist unless `required: false` (init, which writes it).
 * A broken file is always a ConfigError naming the file, the field and the problem.
 */
export function loadConfig(
  path: string,
  opts: { required?: boolean } = {},
): { config: Config; found: boolean } {
  if (!existsSync(path)) {
    if (opts.required ?? path !== DEFAULT_CONFIG_PATH) {
      throw new ConfigError(`--config ${path}: no such file`, {
        hint: `check the path; only the default ${DEFAULT_CONFIG_PATH} may be absent (\`edgecanary init --config PATH\` writes one)`,
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
