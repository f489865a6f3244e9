#!/usr/bin/env bash
# Python overhead: a pure-Python event loop (every CPython here) and a pandas backtest (Debian's
# python3, the one with pandas), each run plain, under `tidemark run` (full mode) and under
# tracemalloc (-X tracemalloc=25, what a Python user has), in rounds of the three one after the
# other. Prints each round's ratios to plain and their medians: on these shared machines one run's
# ratio can be off by 40%, a median of rounds much less.
#   bench/python_overhead.sh [--build DIR] [--rounds N] [--only event|pandas]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build="$here/../build"
rounds=5
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--rounds N] [--only event|pandas]" >&2; exit 2 ;;
  esac
done
tidemark="$build/bin/tidemark"
[ -x "$tidemark" ] || { echo "no $tidemark: build first" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

seconds() {  # seconds of wall time of a command, its output checked against the plain run's
  local expected=$1; shift
  local start end out
  start=$(date +%s.%N)
  out=$("$@" 2>/dev/null)
  end=$(date +%s.%N)
  if [ -n "$expected" ] && [ "$out" != "$expected" ]; then echo "output differs: $out vs $expected" >&2; exit 1; fi
  echo "$end - $start" | bc -l
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

bench() {  # name python script args...
  local name=$1 python=$2; shift 2
  local expected
  expected=$("$python" "$@")
  : > "$tmp/t.ratios"; : > "$tmp/m.ratios"
  printf '%s\n  round   plain s   tidemark s   tracemalloc s   tidemark x   tracemalloc x\n' "$name"
  for r in $(seq 1 "$rounds"); do
    rm -rf "$tmp"/run
    local plain traced tm
    plain=$(seconds "$expected" "$python" "$@")
    traced=$(seconds "$expected" "$tidemark" run -o "$tmp/run" -- "$python" "$@")
    tm=$(seconds "$expected" "$python" -X tracemalloc=25 "$@")
    echo "$traced / $plain" | bc -l >> "$tmp/t.ratios"
    echo "$tm / $plain" | bc -l >> "$tmp/m.ratios"
    printf '  %5d   %7.2f   %10.2f   %13.2f   %10.2f   %13.2f\n' "$r" "$plain" "$traced" "$tm" \
      "$(tail -1 "$tmp/t.ratios")" "$(tail -1 "$tmp/m.ratios")"
  done
  local t m
  t=$(median < "$tmp/t.ratios"); m=$(median < "$tmp/m.ratios")
  printf '  median: tidemark %.2fx, tracemalloc %.2fx; tidemark slowdown / tracemalloc slowdown %.2f\n' \
    "$t" "$m" "$(echo "($t - 1) / ($m - 1)" | bc -l)"
}

pyenv_root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for python in $([ "$only" = pandas ] || echo /usr/bin/python3 "$pyenv_root/versions/3.12.1/bin/python3" "$pyenv_root/versions/3.13.0/bin/python3"); do
  [ -x "$python" ] || continue
  bench "event loop, $("$python" -c 'import sys; print(sys.version.split()[0])')" "$python" "$here/python/event_loop.py"
done
if [ "$only" != event ] && /usr/bin/python3 -c "import pandas" 2>/dev/null; then
  bench "pandas backtest (500 assets x 2,500 days), $(/usr/bin/python3 -c 'import sys; print(sys.version.split()[0])')" \
    /usr/bin/python3 "$here/python/pandas_backtest.py"
fi
