import { join } from 'node:path'
import { buildAndPush } from '../../src/build/index.js'
import { repoRoot, type TestSandbox } from './sandbox.js'

/** Builds sample-app at `version` for `platforms` and pushes it to the sandbox registry; returns `repo:tag@digest`. */
export async function pushSampleApp(
  sb: TestSandbox,
  version: string,
  platforms = ['linux/arm64'],
): Promise<string> {
  const r = await buildAndPush({
    source: join(repoRoot, 'sample-app'),
    version,
    repo: `${sb.registry}/kubeapp`,
    platforms,
    cacheDir: join(sb.home, 'cache'),
  })
  return r.image
}
