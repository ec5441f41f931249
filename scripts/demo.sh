#!/usr/bin/env bash
# The demo: install what is missing (Nix included), build, and run `ternix plan` on the bundled
# example fleet. Usage: bash scripts/demo.sh [DIR]   (DIR: where to create the fleet; default a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node dist-test/test/fixtures/demo.js "$@"
