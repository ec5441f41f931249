#!/usr/bin/env bash
# The whole test suite: set-up, lint, type-check, unit tests, and the integration tests (real Nix)
# twice: with the Nix on PATH (Debian's 2.8 on CI), then with Nix 2.24.15 from ../shared/nix-2.24/bin
# when that folder exists (TERNIX_TEST_NIX; it gets a nix-daemon of its own, see
# test/helpers/global-setup.ts). TERNIX_TEST_NIX_2_24=DIR points the second run at another Nix.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

bash scripts/setup.sh
step "Lint"
npm run --silent lint
step "Type-check"
npm run --silent typecheck

start=$SECONDS
step "Unit and integration tests with $(nix --version) ($(command -v nix))"
npx vitest run
first=$((SECONDS - start))

modern_nix="${TERNIX_TEST_NIX_2_24:-$(cd .. && pwd)/shared/nix-2.24/bin}"
if [ -e "$modern_nix/nix" ]; then
  start=$SECONDS
  step "Integration tests again with $("$modern_nix/nix" --version) ($modern_nix)"
  TERNIX_TEST_NIX="$modern_nix" npx vitest run --project integration
  step "Test time: ${first}s with $(nix --version), $((SECONDS - start))s with $("$modern_nix/nix" --version)"
else
  step "Skipping the integration run with Nix 2.24: $modern_nix does not exist (set TERNIX_TEST_NIX_2_24=DIR to a Nix's bin directory)"
  step "Test time: ${first}s with $(nix --version)"
fi
