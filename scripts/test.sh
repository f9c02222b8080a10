#!/usr/bin/env bash
# The whole test suite: set-up, type-aware lint, then every test on node's own
# test runner. Ends with the plain line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

echo "typecheck: tests, scripts and benchmarks too"
npx tsc -p tsconfig.eslint.json --noEmit || { echo "0 passed, 1 failed"; exit 1; }
echo "lint: eslint (type-aware), then the import rules (dependency-cruiser: layers, no cycles)"
npm run -s lint || { echo "0 passed, 1 failed"; exit 1; }

mkdir -p .test-out
mapfile -t files < <(find src test -name '*.test.ts' 2>/dev/null | sort)
if [ "$#" -gt 0 ]; then files=("$@"); fi
node --import tsx --test --test-concurrency=1 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination=.test-out/results.tap \
  "${files[@]}"
rc=$?
pass=$(grep -E '^# pass ' .test-out/results.tap | tail -1 | awk '{print $3}')
fail=$(grep -E '^# fail ' .test-out/results.tap | tail -1 | awk '{print $3}')
skip=$(grep -E '^# skipped ' .test-out/results.tap | tail -1 | awk '{print $3}')
echo "${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
exit $rc
