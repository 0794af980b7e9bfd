#!/usr/bin/env bash
# Measures HDLKit on the seed's reference multiplier array (PK=9 x PC=16 x PF=16 = 2304 int8
# multipliers, per-filter registered adder trees, flat named registers): elaboration and emission
# time, Verilator build time, and simulated cycles per second, with every filter sum checked
# against a Swift model. The benchmark is an XCTest skipped unless HDLKIT_BENCH=1.
#
#   scripts/bench-hdlkit.sh                      # full run (Verilator build takes a while on first use)
#   HDLKIT_BENCH_SIMULATE=0 scripts/bench-hdlkit.sh   # elaboration and emission only
#   HDLKIT_BENCH_CYCLES=200000 HDLKIT_BENCH_VERILATOR_FLAGS="-O3 --output-split-cfuncs 10000" scripts/bench-hdlkit.sh
#
# Verilator builds are cached by content under $HDLKIT_SIM_CACHE (default: the temp folder); delete
# the MultiplierArray_* folder there to time a cold build again.
set -euo pipefail
cd "$(dirname "$0")/.."
export HDLKIT_BENCH=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! ${SWIFT:-swift} test -c "${MODE:-release}" --filter 'HDLKitTests.BenchmarkTests' >"$log" 2>&1; then
  cat "$log" >&2
  echo "bench-hdlkit: benchmark failed" >&2
  exit 1
fi
grep '^bench:' "$log"
