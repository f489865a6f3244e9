#!/usr/bin/env bash
# Sets up, builds, then runs the main job: the bundled backtest engine under the tracker (with the
# exit-time heap scan), and its summary: peak, leaks, lost blocks and cycles, growth findings.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j2
trace=build/demo  # the run directory: one trace per process
rm -rf "$trace" build/demo.tmtrace
export TIDEMARK_ENGINE_CACHE="${TIDEMARK_ENGINE_CACHE:-$PWD/build/engine-cache}"
build/bin/tidemark run --scan -o "$trace" -- build/bin/tidemark-engine run --results build/demo-results.json
build/bin/tidemark summary "$trace"
build/bin/tidemark report "$trace" -o build/report.html
echo "demo: open $PWD/build/report.html in a browser (timeline, flamegraphs, findings)"
