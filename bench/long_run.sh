#!/usr/bin/env bash
# A long backtest in each recording mode: what a run of hours pays and leaves behind. For the
# plain run and each mode: wall time, the process's peak RSS (the tracker's own memory is the
# difference with plain), the trace's size and bytes per allocation as written and once packed
# (with the time `tidemark pack` takes: what `tidemark run` adds after the command), and
# `tidemark summary`'s time and peak RSS on the packed trace, read twice.
#
#   bench/long_run.sh [--build DIR] [--modes "full aggregate sample"] [-- COMMAND [ARGS...]]
#
# The default command is the bench workload over 600 simulated days (about 140 M allocations, 20 s
# plain on the 2-core development machine), standing for the hours a real backtest runs: the
# full trace and the analysis of it grow linearly with the run's length; the aggregate and sample
# traces, and the tracker's memory, do not. (The bundled engine's generated bundles are a few
# seconds long: `-- build/bin/tidemark-engine run -q` measures it too.)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build"
modes="full aggregate sample"
command=()
while (($#)); do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --modes) modes="$2"; shift 2 ;;
    --) shift; command=("$@"); break ;;
    *) echo "long_run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
tidemark="$build/bin/tidemark"
((${#command[@]})) || command=("$build/bin/tidemark-bench-workload" 600)
[ -x "$tidemark" ] && [ -x "${command[0]}" ] || { echo "long_run.sh: build first ($tidemark, ${command[0]})" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export TIDEMARK_ENGINE_CACHE="$work/cache"

# Once before anything is timed: the engine generates its bundle, files come into the page cache.
"${command[@]}" > /dev/null

# Runs "$@"; echoes "wall_s max_rss_kib".
measured() {
  /usr/bin/time -o "$work/time" -f '%e %M' "$@" > "$work/out" 2> "$work/err" || { cat "$work/err" >&2; return 1; }
  cat "$work/time"
}

read -r plain_wall plain_rss < <(measured "${command[@]}")
printf '%-10s %9s %8s %12s %12s %10s %9s %7s %10s %9s %12s %12s %12s\n' mode wall_s ratio peak_rss_MiB tracker_MiB \
  written_MiB B/alloc pack_s packed_MiB B/alloc summary1_s summary2_s summary_MiB
printf '%-10s %9.1f %8s %12.1f %12s %10s %9s %7s %10s %9s %12s %12s %12s\n' plain "$plain_wall" 1.00 "$(echo "$plain_rss / 1024" | bc -l)" - - - - - - - - -
for mode in $modes; do
  rm -rf "$work/run"
  # The run as the program pays for it; then packing (what `tidemark run` does after it), timed apart.
  read -r wall rss < <(measured "$tidemark" run --no-pack --no-status --mode "$mode" -o "$work/run" -- "${command[@]}")
  trace="$(ls "$work"/run/*.tmtrace | head -1)"
  written=$(stat -c %s "$trace")
  read -r pack_s _ < <(measured "$tidemark" pack "$trace")
  bytes=$(stat -c %s "$trace")
  read -r s1 srss < <(measured "$tidemark" summary --json "$trace")
  allocations=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["allocations"])' "$work/out")
  read -r s2 _ < <(measured "$tidemark" summary --json "$trace")
  # In sample mode the trace's allocations are the sampled ones: bytes per allocation of the
  # program's own count, from the full run when there is one, else not shown.
  [ "$mode" = full ] && full_allocations=$allocations
  count=${full_allocations:-}
  [ "$mode" != sample ] && count=$allocations
  perAllocation() { [ -n "$count" ] && [ "$count" -gt 0 ] && printf '%.3f' "$(echo "$1 / $count" | bc -l)" || echo -; }
  printf '%-10s %9.1f %8.2f %12.1f %12.1f %10.1f %9s %7.1f %10.1f %9s %12.2f %12.2f %12.1f\n' "$mode" "$wall" "$(echo "$wall / $plain_wall" | bc -l)" \
    "$(echo "$rss / 1024" | bc -l)" "$(echo "($rss - $plain_rss) / 1024" | bc -l)" "$(echo "$written / 1048576" | bc -l)" \
    "$(perAllocation "$written")" "$pack_s" "$(echo "$bytes / 1048576" | bc -l)" "$(perAllocation "$bytes")" "$s1" "$s2" "$(echo "$srss / 1024" | bc -l)"
done
echo "allocations (full mode's count): ${full_allocations:-unknown}"
