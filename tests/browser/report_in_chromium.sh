#!/usr/bin/env bash
# Opens a tidemark report of an engine run in Debian's Chromium (/usr/bin/chromium, headless),
# driven by playwright-core from npm (tests/browser/package.json; scripts/setup.sh installs it,
# nothing is downloaded here). report_in_chromium.mjs hovers, clicks, types and switches tabs like
# a user and asserts: no console or page errors, the timeline's two series and its date tooltips,
# the diagnosis first (as summary --json has it), the timeline's ticks, legend and date axis,
# three flamegraphs whose zoom on every frame keeps its children, a click zooms a frame to the full width and hides the others and shows its
# function line by line, the search
# highlights and clears, the tabs switch.
# Usage: report_in_chromium.sh TIDEMARK ENGINE WORKDIR THREADS_PROGRAM
set -euo pipefail
tidemark="$1" engine="$2" dir="$3" threads_program="$4"
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
"$tidemark" summary --json "$dir/engine.tmtrace" >"$dir/summary.json"
"$tidemark" flamegraph "$dir/engine.tmtrace" -o "$dir/flame.svg"
# One hover band per simulated session (the report thins them only beyond 400).
node "$here/report_in_chromium.mjs" "$dir/report.html" --dates "$days" --summary "$dir/summary.json" --svg "$dir/flame.svg"
# The reviewer's report: a deliberate regression (bloated-cache) against the same run without it
# (the default strategy, whose history cache the fault bloats).
for name in base bloated; do
  fault=(); [[ $name == bloated ]] && fault=(--fault bloated-cache)
  "$tidemark" run -o "$dir/$name.tmtrace" -- "$engine" run -q --days "$days" --bundle "$dir/daily.bundle" "${fault[@]}" \
    >"$dir/$name.log" 2>&1 || { echo "tidemark run ($name) failed:" >&2; cat "$dir/$name.log" >&2; exit 1; }
done
"$tidemark" report "$dir/bloated.tmtrace" --baseline "$dir/base.tmtrace" -o "$dir/diff.html" --source-dir "$here/../.." \
  >"$dir/diff.log" 2>&1 || { echo "tidemark report --baseline failed:" >&2; cat "$dir/diff.log" >&2; exit 1; }
node "$here/report_in_chromium.mjs" "$dir/diff.html" --dates "$days" --baseline-top "HistoryCache::decodeColumn"
# A leak of a known size per simulated day: the range view's figures, picked by dates.
"$tidemark" run -o "$dir/leak.tmtrace" -- "$engine" run -q --days "$days" --bundle "$dir/daily.bundle" \
  --fault leak-per-day --leak-bytes-per-day 65536 >"$dir/leak.log" 2>&1 ||
  { echo "tidemark run (leak-per-day) failed:" >&2; cat "$dir/leak.log" >&2; exit 1; }
"$tidemark" report "$dir/leak.tmtrace" -o "$dir/leak.html" --source-dir "$here/../.." >"$dir/leak-report.log" 2>&1 ||
  { echo "tidemark report (leak) failed:" >&2; cat "$dir/leak-report.log" >&2; exit 1; }
node "$here/report_in_chromium.mjs" "$dir/leak.html" --dates "$days" --range-leak "leakDailyScratch:65536"
# Eight threads: the report's choice of thread draws each one's flamegraphs.
"$tidemark" run -o "$dir/threads.tmtrace" -- "$threads_program" >"$dir/threads.log" 2>&1 ||
  { echo "tidemark run (threads) failed:" >&2; cat "$dir/threads.log" >&2; exit 1; }
"$tidemark" report "$dir/threads.tmtrace" -o "$dir/threads.html" >"$dir/threads-report.log" 2>&1 ||
  { echo "tidemark report (threads) failed:" >&2; cat "$dir/threads-report.log" >&2; exit 1; }
"$tidemark" summary --json "$dir/threads.tmtrace" >"$dir/threads.json"
node "$here/report_in_chromium.mjs" "$dir/threads.html" --threads "$dir/threads.json"
