// The entry of the single-file executable (scripts/build-sea.mjs bundles it as one CommonJS
// script, as Node 20's single executable applications require). There is no node_modules and no
// dist/ to find commands in: the build passes every command class, oclif reads the command
// manifest and package.json from the files the executable carries, extracted once to
// EDGECANARY_HOME/sea/<version>-<hash>, where templates/ and sample-app/ are found as well.
import { getAsset } from 'node:sea'
import { type Command, Config, flush, type Hook, handle, run } from '@oclif/core'
import { normalizeArgv } from '@oclif/core/help'
import { edgecanaryHome } from '../sandbox/paths.js'
import { extractFiles, FILES_ASSET, filesDir, type SeaFiles } from './assets.js'

/**
 * The command id oclif makes of `argv` (`relase:2.0`, `status:extra`) when it names no command
 * and no topic, so the command_not_found hook is due; else undefined (oclif runs, or shows help).
 */
function unknownId(config: Config, argv: string[]): string | undefined {
  const [id] = normalizeArgv(config, argv)
  if (!id || id.startsWith('-') || config.findCommand(id) || config.findTopic(id)) return undefined
  return id
}

/**
 * Runs the CLI with `commands` (oclif ids, `sandbox:up`) as its explicit command registry and
 * `notFound` as its command_not_found hook (a hook file cannot be imported here either).
 */
export async function runSea(
  commands: Record<string, Command.Class>,
  notFound: Hook.CommandNotFound,
): Promise<void> {
  try {
    const json = getAsset(FILES_ASSET, 'utf8')
    const files = JSON.parse(json) as SeaFiles
    const root = extractFiles(filesDir(edgecanaryHome(), files.version, json), files)
    // packageRoot() answers this (templates/, sample-app/) instead of looking above the script
    process.env.EDGECANARY_PACKAGE_ROOT = root
    const config = await Config.load({ root })
    // package.json says `commands: {strategy: 'explicit'}`; oclif would import its target file,
    // which a single executable cannot: the classes are here already
    const plugin = config.plugins.get(config.pjson.name) as unknown as {
      commandCache?: Record<string, Command.Class>
    }
    plugin.commandCache = commands
    const argv = process.argv.slice(2)
    const id = unknownId(config, argv)
    if (id !== undefined) {
      const context = {
        config,
        debug: () => {},
        error: handle,
        exit: process.exit,
        log: console.log,
        warn: console.warn,
      }
      await notFound.call(context as unknown as Hook.Context, {
        id,
        argv,
        config,
        context: context as unknown as Hook.Context,
      })
      return
    }
    await run(argv, config)
    await flush()
  } catch (err) {
    await handle(err as Error)
  }
}
