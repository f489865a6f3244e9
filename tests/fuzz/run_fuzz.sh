#!/usr/bin/env bash
# Fuzzes the trace and baseline readers for a bounded time, seeded with real traces of every mode
# made here: tidemark_fuzz mutates them and every input must be read or refused with one line.
# Usage: run_fuzz.sh TIDEMARK TIDEMARK_FUZZ PROGRAMS_DIR WORK_DIR SECONDS
set -euo pipefail
tidemark=$1 fuzz=$2 programs=$3 work=$4 seconds=$5
rm -rf "$work"
mkdir -p "$work/seeds" "$work/crashes"
run() { "$tidemark" run "$@" >/dev/null 2>&1; }
run -o "$work/seeds/full.tmtrace" -- "$programs/tm-test-known_peak"
run --no-pack -o "$work/seeds/unpacked.tmtrace" -- "$programs/tm-test-known_peak"
run --mode aggregate -o "$work/seeds/aggregate.tmtrace" -- "$programs/tm-test-known_peak"
run --scan -o "$work/seeds/scan.tmtrace" -- "$programs/tm-test-cycles" 50 30 20 10
run -o "$work/seeds/markers.tmtrace" -- "$programs/tm-test-growth_patterns"
run --memory-limit 512M -o "$work/seeds/limit.tmtrace" -- "$programs/tm-test-anon_mmap"
"$tidemark" summary --json "$work/seeds/full.tmtrace" > "$work/seeds/summary.json"
if ! "$fuzz" --seconds "$seconds" --crashes "$work/crashes" "$work"/seeds/*; then
  echo "run_fuzz: a failing input is in $work/crashes; add it to tests/fuzz/regressions once fixed" >&2
  exit 1
fi
