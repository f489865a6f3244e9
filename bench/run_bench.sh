#!/usr/bin/env bash
# Compares tidemark with heaptrack on the backtest workload: run-time overhead,
# trace size per allocation and analysis time, from one run of each.
#
# Usage: bench/run_bench.sh [--build DIR] [--scale DAYS] [--workload PATH]
#   --build DIR      build directory holding bin/tidemark and
#                    bin/libtidemark_preload.so (default: build)
#   --scale DAYS     simulated days passed to the workload (default: the
#                    workload's own default)
#   --workload PATH  workload binary (default: DIR/bin/tidemark-bench-workload)
set -euo pipefail

build=build
scale=
workload=

die() {
  echo "run_bench: $*" >&2
  exit 1
}

while (($#)); do
  case "$1" in
    --build) build=${2:?--build needs a directory}; shift 2 ;;
    --scale) scale=${2:?--scale needs a number of days}; shift 2 ;;
    --workload) workload=${2:?--workload needs a path}; shift 2 ;;
    -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
done

[[ -z $scale || $scale =~ ^[1-9][0-9]*$ ]] || die "--scale must be a positive integer, got '$scale'"
tidemark=$build/bin/tidemark
workload=${workload:-$build/bin/tidemark-bench-workload}
[[ -x $tidemark ]] || die "$tidemark not found or not executable"
[[ -f $build/bin/libtidemark_preload.so ]] || die "$build/bin/libtidemark_preload.so not found"
[[ -x $workload ]] || die "$workload not found (build target tidemark-bench-workload or pass --workload)"
for tool in heaptrack heaptrack_print zstd; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tidemark-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# measure NAME CMD... runs CMD with stdout and stderr captured in $tmp/NAME.out
# and $tmp/NAME.err, and leaves "wall user sys maxrss_kb" in $tmp/NAME.time.
# The CPU figures include the children the command waits for (the traced
# program, heaptrack's interpreter); max RSS is that of the largest process.
if [[ -x /usr/bin/time ]]; then
  measure() {
    local name=$1
    shift
    if ! /usr/bin/time -f "%e %U %S %M" -o "$tmp/$name.time" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; then
      report_failure "$name" "$@"
    fi
  }
else
  measure() {
    local name=$1 TIMEFORMAT="%R %U %S -"
    shift
    if ! { time "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; } 2>"$tmp/$name.time"; then
      report_failure "$name" "$@"
    fi
  }
fi

report_failure() {
  local name=$1
  shift
  {
    echo "run_bench: FAILED: $*"
    echo "--- stderr (last 40 lines) ---"
    tail -n 40 "$tmp/$name.err"
  } >&2
  exit 1
}

field() { awk -v i="$2" '{ print $i }' "$tmp/$1.time"; }
cpu() { awk '{ printf "%.2f", $2 + $3 }' "$tmp/$1.time"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
per() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
bytes() { stat -c %s "$1"; }

args=()
[[ -n $scale ]] && args=("$scale")

echo "workload: $workload ${args[*]:-(default scale)}"
echo "[1/6] uninstrumented run"
measure plain "$workload" "${args[@]}"
echo "[2/6] under tidemark, full event log"
measure tidemark "$tidemark" run --mode full -o "$tmp/t" -- "$workload" "${args[@]}"
echo "[3/6] under tidemark, aggregated"
measure tidemark_agg "$tidemark" run --mode aggregate -o "$tmp/a" -- "$workload" "${args[@]}"
echo "[4/6] under heaptrack"
measure heaptrack heaptrack -o "$tmp/h" "$workload" "${args[@]}"

# The tracker must not change what the program computes: the workload's own
# result lines have to be identical in all three runs.
results() { grep -E '^(days|checksum)=' "$tmp/$1.out" || true; }
expected=$(results plain)
[[ -n $expected ]] || die "the uninstrumented run printed no checksum line; its output is in $tmp/plain.out"
for run in tidemark tidemark_agg heaptrack; do
  if [[ $(results "$run") != "$expected" ]]; then
    trap - EXIT
    {
      echo "run_bench: CHECKSUM MISMATCH under $run (outputs kept in $tmp)"
      echo "uninstrumented:"
      echo "$expected" | sed 's/^/  /'
      echo "$run:"
      results "$run" | sed 's/^/  /'
    } >&2
    exit 1
  fi
done

shopt -s nullglob
htrace=("$tmp"/h.*)
shopt -u nullglob
((${#htrace[@]} == 1)) || die "expected one heaptrack output file in $tmp, found: ${htrace[*]:-none}"
htrace=${htrace[0]}
# Each run directory holds one trace: the workload does not start processes.
only_trace() {
  local traces=("$1"/*.tmtrace)
  ((${#traces[@]} == 1)) && [[ -f ${traces[0]} ]] || die "expected one trace in $1, found: ${traces[*]}"
  echo "${traces[0]}"
}
t_trace=$(only_trace "$tmp/t")
a_trace=$(only_trace "$tmp/a")

echo "[5/6] tidemark summary (both traces)"
measure tm_summary "$tidemark" summary "$t_trace"
measure tm_agg_summary "$tidemark" summary "$a_trace"
echo "[6/6] heaptrack_print"
measure ht_print heaptrack_print "$htrace"

allocs=$(sed -n 's/^calls to allocation functions: \([0-9]*\).*/\1/p' "$tmp/ht_print.out")
[[ -n $allocs ]] || die "no 'calls to allocation functions' line in heaptrack_print output"

tm_bytes=$(bytes "$t_trace")
tm_zst_bytes=$(zstd -3 -q -c "$t_trace" | wc -c)
agg_bytes=$(bytes "$a_trace")
agg_zst_bytes=$(zstd -3 -q -c "$a_trace" | wc -c)
ht_bytes=$(bytes "$htrace")

plain_wall=$(field plain 1) plain_cpu=$(cpu plain)
tm_wall=$(field tidemark 1) tm_cpu=$(cpu tidemark)
agg_wall=$(field tidemark_agg 1) agg_cpu=$(cpu tidemark_agg)
ht_wall=$(field heaptrack 1) ht_cpu=$(cpu heaptrack)

echo
echo "$expected"
echo "allocations (heaptrack_print): $allocs"
echo
printf '%-16s %9s %9s %12s %12s %14s\n' "run" "wall s" "cpu s" "wall ratio" "cpu ratio" "max RSS KiB"
printf '%-16s %9s %9s %12s %12s %14s\n' "uninstrumented" "$plain_wall" "$plain_cpu" "1.00x" "1.00x" "$(field plain 4)"
printf '%-16s %9s %9s %12s %12s %14s\n' "tidemark full" "$tm_wall" "$tm_cpu" \
  "$(ratio "$tm_wall" "$plain_wall")" "$(ratio "$tm_cpu" "$plain_cpu")" "$(field tidemark 4)"
printf '%-16s %9s %9s %12s %12s %14s\n' "tidemark aggr." "$agg_wall" "$agg_cpu" \
  "$(ratio "$agg_wall" "$plain_wall")" "$(ratio "$agg_cpu" "$plain_cpu")" "$(field tidemark_agg 4)"
printf '%-16s %9s %9s %12s %12s %14s\n' "heaptrack" "$ht_wall" "$ht_cpu" \
  "$(ratio "$ht_wall" "$plain_wall")" "$(ratio "$ht_cpu" "$plain_cpu")" "$(field heaptrack 4)"
echo
printf '%-28s %14s %14s\n' "trace" "bytes" "bytes/alloc"
printf '%-28s %14s %14s\n' "tidemark full" "$tm_bytes" "$(per "$tm_bytes" "$allocs")"
printf '%-28s %14s %14s\n' "tidemark full, zstd -3" "$tm_zst_bytes" "$(per "$tm_zst_bytes" "$allocs")"
printf '%-28s %14s %14s\n' "tidemark aggregated" "$agg_bytes" "$(per "$agg_bytes" "$allocs")"
printf '%-28s %14s %14s\n' "tidemark aggregated, zstd -3" "$agg_zst_bytes" "$(per "$agg_zst_bytes" "$allocs")"
printf '%-28s %14s %14s\n' "heaptrack ${htrace##*/}" "$ht_bytes" "$(per "$ht_bytes" "$allocs")"
echo
printf '%-28s %9s %9s\n' "analysis" "wall s" "cpu s"
printf '%-28s %9s %9s\n' "tidemark summary (full)" "$(field tm_summary 1)" "$(cpu tm_summary)"
printf '%-28s %9s %9s\n' "tidemark summary (aggr.)" "$(field tm_agg_summary 1)" "$(cpu tm_agg_summary)"
printf '%-28s %9s %9s\n' "heaptrack_print" "$(field ht_print 1)" "$(cpu ht_print)"
printf '%-28s %9s\n' "ratio full/heaptrack_print" "$(ratio "$(field tm_summary 1)" "$(field ht_print 1)")"
echo
echo "Every figure comes from a single run on a possibly shared, noisy machine:"
echo "treat the ratios as rough, and rerun before drawing conclusions."
echo "Analysis outputs were written to files (not /dev/null); both tools' CPU"
echo "times include the child processes they wait for."
