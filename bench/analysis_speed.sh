#!/usr/bin/env bash
# How fast tidemark reads a trace: `summary --json` and `report`, each on its first read (the
# replay, the checkpoint removed before it) and its second (from the checkpoint), per round; with
# --baseline, another tidemark build on the same trace, alternating with this one (first reads).
# Prints per read: seconds, seconds per million allocations, peak RSS; then the medians.
#
#   bench/analysis_speed.sh [--build DIR] [--rounds N] [--baseline TIDEMARK] (--trace FILE | -- COMMAND [ARGS...])
#
# With a command, it is recorded first (full mode) and its largest trace is read. Examples:
#   bench/analysis_speed.sh --rounds 5 -- build/bin/tidemark-bench-workload           # native, 17.5 M allocations
#   bench/analysis_speed.sh --rounds 5 -- /usr/bin/python3 bench/python/pandas_backtest.py   # Python frames
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build"
rounds=3
baseline=""
trace=""
command=()
while (($#)); do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --baseline) baseline="$2"; shift 2 ;;
    --trace) trace="$2"; shift 2 ;;
    --) shift; command=("$@"); break ;;
    *) echo "analysis_speed.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
tidemark="$build/bin/tidemark"
[ -x "$tidemark" ] || { echo "analysis_speed.sh: build first ($tidemark)" >&2; exit 2; }
[ -z "$baseline" ] || [ -x "$baseline" ] || { echo "analysis_speed.sh: no such tidemark: $baseline" >&2; exit 2; }
[ -n "$trace" ] || ((${#command[@]})) || { echo "analysis_speed.sh: give --trace FILE or -- COMMAND" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ -z "$trace" ]; then
  "$tidemark" run --no-status -o "$work/run" -- "${command[@]}" > /dev/null
  trace="$(ls -S "$work"/run/*.tmtrace | head -1)"
fi
[ -f "$trace" ] || { echo "analysis_speed.sh: no trace $trace" >&2; exit 2; }
# Reads of a trace that is still being written are never checkpointed; a finished one is, always.
export TIDEMARK_CHECKPOINT=1
allocations=$("$tidemark" summary --json "$trace" | python3 -c 'import json,sys; print(json.load(sys.stdin)["allocations"])')
echo "trace $trace: $(($(stat -c %s "$trace") / 1048576)) MiB, $allocations allocations"

# Runs "$@" with its output thrown away; echoes "wall_s max_rss_kib".
measured() {
  /usr/bin/time -o "$work/time" -f '%e %M' "$@" > /dev/null 2> "$work/err" || { cat "$work/err" >&2; return 1; }
  cat "$work/time"
}

results="$work/results"
: > "$results"
printf '%-9s %-8s %-7s %8s %12s %9s\n' build command read seconds s_per_M peak_MB
for ((round = 1; round <= rounds; ++round)); do
  for build_name in this ${baseline:+baseline}; do
    bin="$tidemark"
    [ "$build_name" = baseline ] && bin="$baseline"
    for cmd in summary report; do
      args=(summary --json "$trace")
      [ "$cmd" = report ] && args=(report -o "$work/report.html" "$trace")
      rm -f "$trace.tmcheckpoint"
      reads=(first second)
      [ "$build_name" = baseline ] && reads=(first)  # the checkpoint is the build's own
      for read in "${reads[@]}"; do
        read -r seconds rss < <(measured "$bin" "${args[@]}")
        per_million=$(echo "$seconds * 1000000 / $allocations" | bc -l)
        printf '%-9s %-8s %-7s %8.2f %12.4f %9.0f\n' "$build_name" "$cmd" "$read" "$seconds" "$per_million" "$((rss / 1024))" | tee -a "$results"
      done
    done
  done
done
rm -f "$trace.tmcheckpoint"
echo "medians:"
python3 - "$results" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    build, cmd, read, seconds, per_million, mb = line.split()
    rows.setdefault((build, cmd, read), []).append((float(seconds), float(per_million), float(mb)))
for (build, cmd, read), values in sorted(rows.items()):
    print("%-9s %-8s %-7s %8.2f %12.4f %9.0f" % (build, cmd, read, *(statistics.median(v[i] for v in values) for i in range(3))))
EOF
