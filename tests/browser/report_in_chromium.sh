#!/usr/bin/env bash
# Opens a tidemark report of an engine run in Debian's Chromium (/usr/bin/chromium, headless),
# driven by playwright-core from npm (tests/browser/package.json; scripts/setup.sh installs it,
# nothing is downloaded here). report_in_chromium.mjs hovers, clicks, types and switches tabs like
# a user and asserts: no console or page errors, the timeline's two series and its date tooltips,
# three flamegraphs, a click zooms a frame to the full width and hides the others and shows its
# function line by line, the search
# highlights and clears, the tabs switch.
# Usage: report_in_chromium.sh TIDEMARK ENGINE WORKDIR
set -euo pipefail
tidemark="$1" engine="$2" dir="$3"
here="$(cd "$(dirname "$0")" && pwd)"
if ! command -v node >/dev/null || [[ ! -d "$here/node_modules/playwright-core" ]]; then
  echo "run scripts/setup.sh: it installs playwright-core with npm ci in tests/browser" >&2
  exit 1
fi
if [[ ! -x /usr/bin/chromium ]]; then
  echo "/usr/bin/chromium is not installed (scripts/setup.sh installs it)" >&2
  exit 1
fi
rm -rf "$dir" && mkdir -p "$dir"
days=250
# The bundle is made untraced: only the backtest is in the trace.
"$engine" ingest --assets 1500 --days 420 --frequency daily -o "$dir/daily.bundle" >"$dir/ingest.log" 2>&1 ||
  { echo "ingest failed:" >&2; cat "$dir/ingest.log" >&2; exit 1; }
"$tidemark" run -o "$dir/engine.tmtrace" -- "$engine" run -q --days "$days" --bundle "$dir/daily.bundle" \
  --strategy momentum --pipeline-chunk 42 >"$dir/run.log" 2>&1 ||
  { echo "tidemark run failed:" >&2; cat "$dir/run.log" >&2; exit 1; }
"$tidemark" report "$dir/engine.tmtrace" -o "$dir/report.html" --source-dir "$here/../.." >"$dir/report.log" 2>&1 ||
  { echo "tidemark report failed:" >&2; cat "$dir/report.log" >&2; exit 1; }
# One hover band per simulated session (the report thins them only beyond 400).
node "$here/report_in_chromium.mjs" "$dir/report.html" --dates "$days"
