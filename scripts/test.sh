#!/usr/bin/env bash
# Sets up, builds (analyzer, reports and tests under ASan+UBSan; the preload without) and runs
# every test. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build-test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTIDEMARK_SANITIZE=ON >/dev/null
ninja -C build-test -j2
cd build-test
ctest -j2 --output-on-failure --timeout 600
