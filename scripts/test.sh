#!/usr/bin/env bash
# The whole test suite: set-up, lint, type-check, unit and integration tests (real Nix).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
printf '\033[1m==> %s\033[0m\n' "Lint" >&2
npm run --silent lint
printf '\033[1m==> %s\033[0m\n' "Type-check" >&2
npm run --silent typecheck
printf '\033[1m==> %s\033[0m\n' "Tests" >&2
npx vitest run
