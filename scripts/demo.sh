#!/usr/bin/env bash
# The main job of README.md: the whole edgecanary flow on the embedded sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh demo
npm ci --no-audit --no-fund >&2
npm run -s build >&2
exec node scripts/demo.mjs "$@"
