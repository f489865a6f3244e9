#!/usr/bin/env bash
# Sets up, builds, then runs the main job: a bundled program under the tracker, and its summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j2
trace=build/demo.tmtrace
build/bin/tidemark run -o "$trace" -- build/tests/programs/tm-test-known_peak
build/bin/tidemark summary "$trace"
