#!/usr/bin/env bash
# Installs every Debian package tidemark needs to build, test and benchmark. Runs as root (CI) or
# through sudo. Safe to run again.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libunwind-dev libdw-dev libelf-dev
  libfmt-dev libspdlog-dev libboost-graph-dev libcli11-dev nlohmann-json3-dev libzstd-dev
  libgtest-dev
  zstd time valgrind chromium
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
