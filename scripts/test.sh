#!/usr/bin/env bash
# The test command of README.md: installs what it needs, then runs every quality gate and test.
# Ends with one line `tests: N passed, N failed` from vitest's JSON report (plus go test).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh test || exit 2
npm ci --no-audit --no-fund >&2 || exit 2

status=0
echo "== biome" >&2; npx biome check . >&2 || status=1
echo "== tsc --noEmit" >&2; npx tsc --noEmit >&2 || status=1
echo "== build" >&2; npm run -s build >&2 || status=1

mkdir -p reports
echo "== go test (sample-app)" >&2
go_passed=0; go_failed=0
if (cd sample-app && go test -json ./... > ../reports/go-test.json 2>&1); then :; else status=1; fi
go_passed=$(grep -c '"Action":"pass","Package":"[^"]*","Test"' reports/go-test.json || true)
go_failed=$(grep -c '"Action":"fail","Package":"[^"]*","Test"' reports/go-test.json || true)

echo "== vitest" >&2
# the full suite (test:all): the fast tier of `npm run test:unit` and the sandbox end-to-end tests.
# The two release scenario files judge latency and failed user requests of emulated apps, so they
# run alone, one file at a time; everything else runs two files at once (2 cores: about half the
# wall time of one at a time).
SERIAL=(test/e2e/release.test.ts test/e2e/release-semantics.test.ts)
rm -f reports/vitest-serial.json reports/vitest.json
npm run -s test:all -- --maxWorkers=1 --reporter=default --reporter=json --outputFile.json=reports/vitest-serial.json "${SERIAL[@]}" "$@" >&2 || status=1
excludes=(); for f in "${SERIAL[@]}"; do excludes+=(--exclude "$f"); done
EDGECANARY_SKIP_BUILD=1 npm run -s test:all -- --maxWorkers=2 "${excludes[@]}" --reporter=default --reporter=json --outputFile.json=reports/vitest.json "$@" >&2 || status=1

node -e '
const fs = require("node:fs")
let p = 0, f = 0
for (const file of ["reports/vitest-serial.json", "reports/vitest.json"]) {
  try {
    const r = JSON.parse(fs.readFileSync(file, "utf8"))
    p += r.numPassedTests
    f += r.numFailedTests + (r.numTotalTestSuites > 0 && r.success === false && r.numFailedTests === 0 ? 1 : 0)
  } catch (e) { f += 1 }
}
p += Number(process.argv[1]); f += Number(process.argv[2])
console.log(`tests: ${p} passed, ${f} failed`)
process.exit(f > 0 || p === 0 ? 1 : 0)
' "$go_passed" "$go_failed" || status=1
exit $status
