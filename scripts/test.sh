#!/usr/bin/env bash
# The whole test suite: installs missing Debian test peers, type-checks and builds, lints, then runs every test
# with node's own runner. Unit and integration tests first; the real-firmware e2e suite last, one boot at a time.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/test-deps.sh
npx tsc -p tsconfig.json
npx eslint --max-warnings=0 src test bench ui

mapfile -t unit < <(find dist/test -name '*.test.js' -not -path 'dist/test/e2e/*' | sort)
node --test --test-concurrency=1 "${unit[@]}"
if [ -d dist/test/e2e ]; then
  mapfile -t e2e < <(find dist/test/e2e -name '*.test.js' | sort)
  if [ ${#e2e[@]} -gt 0 ]; then node --test --test-concurrency=1 "${e2e[@]}"; fi
fi
