#!/usr/bin/env bash
# Paired runs of one command: plain, then under the tracker in each mode asked for (and heaptrack),
# alternating, so that a machine that slows down slows every variant of a round alike. Prints each
# round's wall and CPU ratios to plain and their medians.
#
#   bench/overhead_pairs.sh [--pairs N] [--build DIR] [--mode full|aggregate|sample]... [--heaptrack]
#                           [--passthrough] [--sample-bytes N] [--ignore REGEX] -- COMMAND [ARGS...]
# --passthrough: also under bench/passthrough_preload.cpp, which interposes malloc and friends and
# records nothing: the cost of interposition alone.
# --ignore: lines of the output that differ from run to run anyway (the engine prints its own
# timings), left out of the check that the output is the plain run's.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pairs=9
build="$root/build"
modes=()
heaptrack=0
passthrough=0
sample_bytes=""
ignore='^$'
while (($#)); do
  case "$1" in
    --pairs) pairs="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --mode) modes+=("$2"); shift 2 ;;
    --heaptrack) heaptrack=1; shift ;;
    --passthrough) passthrough=1; shift ;;
    --sample-bytes) sample_bytes="$2"; shift 2 ;;
    --ignore) ignore="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "overhead_pairs.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
(($#)) || { echo "overhead_pairs.sh: no command after --" >&2; exit 2; }
((${#modes[@]})) || modes=(full)
preload="$build/bin/libtidemark_preload.so"
[ -f "$preload" ] || { echo "overhead_pairs.sh: no $preload (build first)" >&2; exit 2; }
passthrough_lib="$build/bin/libtidemark-bench-passthrough.so"
if ((passthrough)) && [ ! -f "$passthrough_lib" ]; then
  echo "overhead_pairs.sh: no $passthrough_lib (ninja -C $build tidemark-bench-passthrough)" >&2
  exit 2
fi
if ((heaptrack)) && ! command -v heaptrack >/dev/null; then
  echo "overhead_pairs.sh: heaptrack is not installed" >&2
  exit 2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Runs "$@" with stdout to $work/out.NAME; echoes "wall cpu".
timed() {
  local name="$1"; shift
  /usr/bin/time -o "$work/time" -f '%e %U %S' "$@" > "$work/out.$name" 2> "$work/err.$name"
  awk '{ printf "%s %.3f\n", $1, $2 + $3 }' "$work/time"
}

variants=()
((passthrough)) && variants+=(passthrough)
variants+=("${modes[@]}")
((heaptrack)) && variants+=(heaptrack)
printf 'round  plain wall/cpu s'
for v in "${variants[@]}"; do printf '  %s wall x / cpu x' "$v"; done
printf '\n'
results="$work/results"
for ((round = 1; round <= pairs; ++round)); do
  read -r pw pc < <(timed plain "$@")
  line="$round $pw $pc"
  printf '%5d  %5.2f / %5.2f' "$round" "$pw" "$pc"
  for v in "${variants[@]}"; do
    rm -f "$work"/trace* "$work"/*.zst
    if [ "$v" = heaptrack ]; then
      read -r w c < <(timed "$v" heaptrack -o "$work/trace" "$@")
      # heaptrack prints its own lines on the program's standard output: keep the program's
      grep -Fxf <(grep -v -E -e "$ignore" "$work/out.plain") "$work/out.$v" > "$work/out.tmp" || true
      mv "$work/out.tmp" "$work/out.$v"
    elif [ "$v" = passthrough ]; then
      read -r w c < <(timed "$v" env LD_PRELOAD="$passthrough_lib" "$@")
    else
      env_args=(LD_PRELOAD="$preload" TIDEMARK_OUTPUT="$work/trace.tmtrace" TIDEMARK_MODE="$v")
      [ -n "$sample_bytes" ] && env_args+=(TIDEMARK_SAMPLE_BYTES="$sample_bytes")
      read -r w c < <(timed "$v" env "${env_args[@]}" "$@")
    fi
    if ! cmp -s <(grep -v -E -e "$ignore" "$work/out.plain") <(grep -v -E -e "$ignore" "$work/out.$v"); then
      echo "overhead_pairs.sh: the output under $v differs from the plain run's" >&2
      exit 1
    fi
    rw=$(awk -v a="$w" -v b="$pw" 'BEGIN { printf "%.3f", a / b }')
    rc=$(awk -v a="$c" -v b="$pc" 'BEGIN { printf "%.3f", a / b }')
    printf '  %16s / %s' "$rw" "$rc"
    line="$line $rw $rc"
  done
  printf '\n'
  echo "$line" >> "$results"
done
printf 'median          '
col=4
for v in "${variants[@]}"; do
  w=$(awk -v c=$col '{ print $c }' "$results" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
  c=$(awk -v c=$((col + 1)) '{ print $c }' "$results" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
  printf '  %s %.3fx / %.3fx' "$v" "$w" "$c"
  col=$((col + 2))
done
printf '\n'
