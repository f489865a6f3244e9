#!/usr/bin/env bash
# Installs every Debian package tidemark needs to build, test and benchmark, then the npm packages
# of the browser test (tests/browser: playwright-core, which drives the Debian chromium and downloads
# no browser). Runs as root (CI) or through sudo. Safe to run again.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
packages=(
  build-essential cmake ninja-build pkg-config
  libunwind-dev libdw-dev libelf-dev
  libfmt-dev libspdlog-dev libboost-graph-dev libcli11-dev nlohmann-json3-dev libzstd-dev
  libgtest-dev
  zstd time valgrind chromium
  sqlite3 g++ xz-utils git quantlib-examples python3-numpy python3-pandas python3-pytest bc
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
if ((${#missing[@]})); then
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if ! command -v npm >/dev/null; then
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends nodejs npm
fi
npm ci --prefix "$root/tests/browser" --no-audit --no-fund
