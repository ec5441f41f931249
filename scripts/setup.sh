#!/usr/bin/env bash
# Prepare a fresh Debian machine (as root) for Ternix: Nix, git, Node dependencies, build.
# Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

need_apt=()
command -v nix >/dev/null 2>&1 || need_apt+=(nix-bin)
command -v git >/dev/null 2>&1 || need_apt+=(git)
# Unpacks ../shared/nixpkgs-eval's nixpkgs tree for the NixOS module test.
command -v zstd >/dev/null 2>&1 || need_apt+=(zstd)
# ternix upgrade's tests: promtool checks the metrics file; ssh-keygen signs and verifies commits.
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
command -v ssh-keygen >/dev/null 2>&1 || need_apt+=(openssh-client)
# ternix deploy/status tests start real sshds on loopback ports (test/helpers/sshd.ts); the package's
# own service is not needed (containers deny it through policy-rc.d, and the tests never use port 22).
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  need_apt+=(nodejs npm)
fi
# The Nix 2.24 build the tests also run against (scripts/test.sh) links Debian's libraries; install the
# ones it lists (../shared/nix-2.24/README.md) when that folder exists and they are missing.
modern_nix="${TERNIX_TEST_NIX_2_24:-$(cd .. && pwd)/shared/nix-2.24/bin}"
if [ -e "$modern_nix/nix" ]; then
  for pkg in libgc1 libgit2-1.5 libsqlite3-0 libcurl4 libseccomp2 libsodium23 libbrotli1 libarchive13 \
    libboost-context1.74.0 libcpuid16 libreadline8 liblowdown1; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need_apt+=("$pkg")
  done
fi
# better-sqlite3 (the store-database reader) compiles its native addon during `npm ci`: its prebuilt
# binaries are downloaded from outside the npm registry, which CI cannot reach. It is an optional
# dependency, so without a compiler Ternix still works, reading closures through `nix path-info`.
command -v make >/dev/null 2>&1 || need_apt+=(make)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing ${need_apt[*]} and not root" >&2
    echo "hint: run as root, or install them yourself (Nix: apt-get install -y nix-bin)" >&2
    exit 1
  fi
  log "Installing ${need_apt[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "error: Node.js $(node --version) is too old; Ternix needs Node 20 or newer" >&2
  echo "hint: install Node 20+ (e.g. from NodeSource or nvm) and re-run" >&2
  exit 1
fi

# Debian's nix-bin ships a daemon; builds in this environment run without a sandbox.
if [ -w /etc/nix ] || [ "$(id -u)" -eq 0 ]; then
  mkdir -p /etc/nix
  touch /etc/nix/nix.conf
  grep -q '^sandbox' /etc/nix/nix.conf || echo 'sandbox = false' >> /etc/nix/nix.conf
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "Installing Node dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
log "Building"
npm run --silent build
npm run --silent build:fixtures
