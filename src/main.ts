// What bin/run.js runs: oclif, bundled with the commands by scripts/bundle.mjs, so bin/run.js,
// the commands and the hooks share one @oclif/core.
import { execute } from '@oclif/core'

await execute({ dir: import.meta.url })
