#!/usr/bin/env bash
# Installs the Debian packages tidemark needs, then (for the tests) the npm packages of the browser
# test (tests/browser: playwright-core, which drives the Debian chromium and downloads no browser).
# Runs as root (CI) or through sudo. Safe to run again.
#
#   scripts/setup.sh            what building, testing and benchmarking need (the README's commands)
#   scripts/setup.sh --build    what building needs, nothing for the tests
#   scripts/setup.sh --runtime  what running an installed tidemark needs (the libraries it links,
#                               python3 for Python programs): the .deb's own dependencies
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
runtime=(libunwind8 libdw1 libfmt9 python3)
build=(
  build-essential cmake ninja-build pkg-config
  libunwind-dev libdw-dev libelf-dev
  libfmt-dev libspdlog-dev libboost-graph-dev libcli11-dev nlohmann-json3-dev libzstd-dev
)
testing=(
  libgtest-dev
  zstd time valgrind chromium man-db
  sqlite3 g++ xz-utils git quantlib-examples python3-numpy python3-pandas python3-pytest bc
)
case "${1:-}" in
  --runtime) packages=("${runtime[@]}") ;;
  --build) packages=("${build[@]}") ;;
  "") packages=("${build[@]}" "${testing[@]}") ;;
  *) echo "usage: scripts/setup.sh [--build | --runtime]" >&2; exit 2 ;;
esac
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
[ -z "${1:-}" ] || exit 0
if ! command -v npm >/dev/null; then
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends nodejs npm
fi
npm ci --prefix "$root/tests/browser" --no-audit --no-fund
