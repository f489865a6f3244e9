#!/usr/bin/env bash
# Heap-scan cost at exit for 1 M and 5 M live blocks (bench/scan_workload.cpp): the program's run
# uninstrumented, under `tidemark run --scan` (full mode), the scan's own time from the trace, and
# peak RSS of both runs (the scan's working memory shows there). One run each: rerun before
# drawing conclusions on a shared machine.
set -euo pipefail
build=build
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    *) echo "usage: $0 [--build DIR]" >&2; exit 2 ;;
  esac
done
tm="$build/bin/tidemark"
wl="$build/bin/tidemark-scan-workload"
for f in "$tm" "$wl"; do [[ -x "$f" ]] || { echo "missing $f: build first" >&2; exit 2; }; done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '%-10s %12s %12s %12s %14s %14s %12s\n' blocks "plain s" "tidemark s" "scan s" "plain RSS KiB" "tm RSS KiB" "cycles"
for n in 1000000 5000000; do
  /usr/bin/time -f '%e %M' -o "$dir/plain" "$wl" "$n" > /dev/null
  /usr/bin/time -f '%e %M' -o "$dir/tm" "$tm" run --scan -o "$dir/t$n" -- "$wl" "$n" > /dev/null 2>&1
  json=$("$tm" summary --json "$dir/t$n")
  read -r scan cycles < <(python3 -c 'import json,sys; h=json.load(sys.stdin)["heap_scan"]; print(h["scan_seconds"], h["leaked_cycles"]["count"])' <<< "$json")
  read -r pe pm < "$dir/plain"
  read -r te tmr < "$dir/tm"
  printf '%-10s %12s %12s %12.2f %14s %14s %12s\n' "$n" "$pe" "$te" "$scan" "$pm" "$tmr" "$cycles"
done
