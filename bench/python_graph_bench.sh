#!/usr/bin/env bash
# The Python object graph at scale: bench/python/object_graph.py keeps N objects the cycle
# collector tracks (a third instances, a third lists, a third dicts, with their floats: about 2.7
# heap blocks per object), then calls tidemark.scan(); the run then exits (a second scan, at exit).
# Per round: the program's pause for the scan (its own clock around the call), the scan's duration
# in the trace, the scans' bytes (the trace's size against the same run without --scan), and the
# analysis: `tidemark summary --json` wall time and peak RSS, and the time the object graph's
# analysis took (both scans: python_objects.analysis_seconds is the last one's). Prints each round
# and the medians: one run on these shared machines can be off by 40%.
#   bench/python_graph_bench.sh [--build DIR] [--rounds N] [--objects N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build="$here/../build"
rounds=3
objects=3000000
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --objects) objects=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--rounds N] [--objects N]" >&2; exit 2 ;;
  esac
done
tidemark="$build/bin/tidemark"
[ -x "$tidemark" ] || { echo "no $tidemark: build first" >&2; exit 2; }
python=/usr/bin/python3
program="$here/python/object_graph.py"
export PYTHONPATH="$here/../python${PYTHONPATH:+:$PYTHONPATH}"  # the tidemark module
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

printf '%-6s %10s %8s %8s %11s %11s %10s %10s %12s\n' round tracked "pause s" "scan s" "scans MiB" "trace MiB" "summary s" "summary MB" "analysis s"
for round in $(seq "$rounds"); do
  "$tidemark" run -o "$tmp/plain$round" -- "$python" "$program" "$objects" > /dev/null 2>&1
  out=$("$tidemark" run --scan -o "$tmp/scan$round" -- "$python" "$program" "$objects" 2>/dev/null)
  /usr/bin/time -f '%e %M' -o "$tmp/time" "$tidemark" summary --json "$tmp/scan$round" > "$tmp/summary.json"
  read -r summary_s summary_kb < "$tmp/time"
  read -r tracked pause scan analysis < <("$python" -c '
import json, sys
run = json.loads(sys.argv[1]); s = json.load(open(sys.argv[2]))
assert run["graph"] and s["python_objects"]["available"], "no object graph"
print(run["tracked"], round(run["pause_s"], 2), round(s["heap_scan"]["scan_seconds"], 2), round(s["python_objects"]["analysis_seconds"], 2))' "$out" "$tmp/summary.json")
  scans=$(( ($(du -sb "$tmp/scan$round" | cut -f1) - $(du -sb "$tmp/plain$round" | cut -f1)) / 1048576 ))
  trace=$(( $(du -sb "$tmp/scan$round" | cut -f1) / 1048576 ))
  rm -rf "$tmp/plain$round" "$tmp/scan$round"
  printf '%-6s %10s %8s %8s %11s %11s %10s %10s %12s\n' "$round" "$tracked" "$pause" "$scan" "$scans" "$trace" "$summary_s" \
    $((summary_kb / 1024)) "$analysis"
  echo "$pause $scan $summary_s $analysis" >> "$tmp/rows"
done
printf '%-6s %10s %8s %8s %11s %11s %10s %10s %12s\n' median "" "$(cut -d' ' -f1 "$tmp/rows" | median)" \
  "$(cut -d' ' -f2 "$tmp/rows" | median)" "" "" "$(cut -d' ' -f3 "$tmp/rows" | median)" "" "$(cut -d' ' -f4 "$tmp/rows" | median)"
