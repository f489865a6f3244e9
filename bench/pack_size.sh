#!/usr/bin/env bash
# What packing does to a full trace (analyzer/trace_pack.h): the command is recorded once as
# written (--no-pack); then, per round, a copy is packed (wall time, peak RSS) and `summary --json`
# reads the trace as written and packed, alternating (no checkpoint: the replay every time).
# Prints bytes per allocation before and after, and per round the times; then the medians.
#
#   bench/pack_size.sh [--build DIR] [--rounds N] -- COMMAND [ARGS...]
#
# Examples:
#   bench/pack_size.sh --rounds 3 -- build/bin/tidemark-bench-workload            # 17.5 M allocations
#   bench/pack_size.sh --rounds 3 -- /usr/bin/python3 bench/python/pandas_backtest.py
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build"
rounds=3
command=()
while (($#)); do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --) shift; command=("$@"); break ;;
    *) echo "pack_size.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
tidemark="$build/bin/tidemark"
[ -x "$tidemark" ] || { echo "pack_size.sh: build first ($tidemark)" >&2; exit 2; }
((${#command[@]})) || { echo "pack_size.sh: give -- COMMAND" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$tidemark" run --no-pack --no-status -o "$work/run" -- "${command[@]}" > /dev/null
raw="$(ls -S "$work"/run/*.tmtrace | head -1)"
export TIDEMARK_CHECKPOINT=0
allocations=$("$tidemark" summary --json "$raw" | python3 -c 'import json,sys; print(json.load(sys.stdin)["allocations"])')
raw_bytes=$(stat -c %s "$raw")

# Runs "$@" with its output thrown away; echoes "wall_s max_rss_kib".
measured() {
  /usr/bin/time -o "$work/time" -f '%e %M' "$@" > /dev/null 2> "$work/err" || { cat "$work/err" >&2; return 1; }
  cat "$work/time"
}

packed="$work/packed.tmtrace"
results="$work/results"
: > "$results"
printf '%-6s %-22s %8s %8s\n' round what seconds peak_MB
for ((round = 1; round <= rounds; ++round)); do
  cp "$raw" "$packed"
  read -r s kib < <(measured "$tidemark" pack "$packed")
  printf '%-6s %-22s %8s %8d\n' "$round" pack "$s" $((kib / 1024))
  echo "pack $s $kib" >> "$results"
  for form in written packed; do
    trace="$raw"
    [ "$form" = packed ] && trace="$packed"
    read -r s kib < <(measured "$tidemark" summary --json "$trace")
    printf '%-6s %-22s %8s %8d\n' "$round" "summary of $form" "$s" $((kib / 1024))
    echo "summary_$form $s $kib" >> "$results"
  done
done
packed_bytes=$(stat -c %s "$packed")
python3 - "$results" "$allocations" "$raw_bytes" "$packed_bytes" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    what, s, kib = line.split()
    rows.setdefault(what, []).append((float(s), int(kib)))
allocations, raw, packed = (int(x) for x in sys.argv[2:5])
print(f"{allocations:,} allocations: as written {raw:,} bytes ({raw / allocations:.2f} per allocation), "
      f"packed {packed:,} ({packed / allocations:.2f} per allocation, {raw / packed:.1f}x smaller)")
for what, values in rows.items():
    s = statistics.median(v[0] for v in values)
    mb = statistics.median(v[1] for v in values) / 1024
    print(f"median {what}: {s:.2f} s ({s / allocations * 1e6:.3f} s per million allocations), peak {mb:.0f} MB")
EOF
