#!/usr/bin/env bash
# Two builds' packing of the same trace, alternating: per round, each build packs a copy of the
# trace (wall time, peak RSS) and `summary` reads what it packed (no checkpoint: the replay every
# time). Prints one line per build and round: the packed size, bytes per allocation, the times.
#
#   bench/pack_compare.sh [--rounds N] TIDEMARK_BEFORE TIDEMARK_AFTER TRACE
#
# TRACE is a trace as written (`tidemark run --no-pack`). Example, the build before against this
# one on the bench workload's trace:
#   build/bin/tidemark run --no-pack -o /tmp/bw -- build/bin/tidemark-bench-workload
#   bench/pack_compare.sh --rounds 3 /tmp/tidemark.before build/bin/tidemark /tmp/bw/*.tmtrace
set -euo pipefail
rounds=3
if [ "${1:-}" = --rounds ]; then rounds="$2"; shift 2; fi
[ $# -eq 3 ] || { echo "usage: pack_compare.sh [--rounds N] TIDEMARK_BEFORE TIDEMARK_AFTER TRACE" >&2; exit 2; }
before="$1" after="$2" raw="$3"
for t in "$before" "$after"; do [ -x "$t" ] || { echo "pack_compare.sh: not an executable: $t" >&2; exit 2; }; done
[ -f "$raw" ] || { echo "pack_compare.sh: no trace at $raw" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export TIDEMARK_CHECKPOINT=0
allocations=$("$after" summary --json "$raw" | python3 -c 'import json,sys; print(json.load(sys.stdin)["allocations"])')
# Runs "$@" with its output thrown away; echoes "wall_s max_rss_kib".
measured() {
  /usr/bin/time -o "$work/time" -f '%e %M' "$@" > /dev/null 2> "$work/err" || { cat "$work/err" >&2; return 1; }
  cat "$work/time"
}
printf '%-6s %-6s %12s %8s %8s %8s %8s %8s\n' build round bytes B/alloc pack_s pack_MB summ_s summ_MB
for ((round = 1; round <= rounds; ++round)); do
  for build in before after; do
    tidemark="$before"
    [ "$build" = after ] && tidemark="$after"
    cp "$raw" "$work/packed.tmtrace"
    read -r ps pk < <(measured "$tidemark" pack "$work/packed.tmtrace")
    read -r ss sk < <(measured "$tidemark" summary "$work/packed.tmtrace")
    bytes=$(stat -c %s "$work/packed.tmtrace")
    printf '%-6s %-6s %12s %8s %8s %8d %8s %8d\n' "$build" "$round" "$bytes" \
      "$(python3 -c "print(f'{$bytes / $allocations:.3f}')")" "$ps" $((pk / 1024)) "$ss" $((sk / 1024))
  done
done
