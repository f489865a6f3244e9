#!/usr/bin/env bash
# Engine throughput: bar events processed per second by tidemark-engine, uninstrumented, on a year
# of minute bars (252 sessions x 390 minutes) over 500 assets = 49.1 M bar events per run.
#
# Usage: bench/engine_throughput.sh [--build DIR] [--assets N] [--days D] [--runs R] [--bundle PATH]
#   --build DIR    build directory holding bin/tidemark-engine (default: build)
#   --assets N     assets in the generated bundle (default: 500)
#   --days D       sessions in the generated bundle (default: 252)
#   --runs R       timed runs of each strategy; the best is reported (default: 3)
#   --bundle PATH  use this minute bundle instead of generating one (it is not deleted)
#
# The bundle (about 1 GB at the default size) is generated first, untimed, in $TMPDIR, and
# deleted at the end. Each timed run is a whole `tidemark-engine run` process (start-up and
# bundle open included); the engine's own figure for its simulation loop is shown beside it.
set -euo pipefail

build=build
assets=500
days=252
runs=3
bundle=

die() {
  echo "engine_throughput: $*" >&2
  exit 1
}

while (($#)); do
  case "$1" in
    --build) build=${2:?--build needs a directory}; shift 2 ;;
    --assets) assets=${2:?--assets needs a number}; shift 2 ;;
    --days) days=${2:?--days needs a number}; shift 2 ;;
    --runs) runs=${2:?--runs needs a number}; shift 2 ;;
    --bundle) bundle=${2:?--bundle needs a path}; shift 2 ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
done
for n in "$assets" "$days" "$runs"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || die "expected a positive integer, got '$n'"
done
engine=$build/bin/tidemark-engine
[[ -x $engine ]] || die "$engine not found (build the tidemark-engine target)"

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tidemark-engine-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if [[ -z $bundle ]]; then
  bundle=$tmp/bench.bundle
  start=$(now)
  "$engine" ingest --assets "$assets" --days "$days" --seed 1 -o "$bundle" >/dev/null
  echo "generated $assets assets x $days sessions of minute bars in $(calc "$(now) - $start") s" \
    "($(du -m "$bundle" | cut -f1) MB)"
fi
[[ -f $bundle ]] || die "$bundle not found"

# best STRATEGY ARGS...: the fastest of $runs runs; prints "events wall loop"
best() {
  local strategy=$1 best_wall= line events loop wall start
  shift
  for ((i = 0; i < runs; i++)); do
    start=$(now)
    "$engine" run -q --bundle "$bundle" --strategy "$strategy" "$@" >"$tmp/out"
    wall=$(calc "$(now) - $start")
    line=$(grep -m1 'bar events' "$tmp/out") || die "$strategy: no 'bar events' line in its output"
    events=$(awk '{ print $3 }' <<<"$line")
    loop=$(awk '{ print $5 }' <<<"$line")
    if [[ -z $best_wall ]] || awk "BEGIN { exit !($wall < $best_wall) }"; then
      best_wall=$wall
      best_loop=$loop
    fi
  done
  echo "$events $best_wall $best_loop"
}

printf '%-16s %12s %9s %14s %14s\n' strategy "bar events" "wall s" "events/s" "loop events/s"
for spec in "buy-and-hold" "mean-reversion" "momentum" "random-universe"; do
  read -r events wall loop < <(best "$spec")
  printf '%-16s %12d %9.3f %13.1fM %13.1fM\n' "$spec" "$events" "$wall" \
    "$(calc "$events / $wall / 1e6")" "$(calc "$events / $loop / 1e6")"
done
echo "(events/s: over the whole process; loop events/s: over the engine's simulation loop only." \
  "Strategies with a warm-up simulate fewer sessions than the bundle holds.)"
