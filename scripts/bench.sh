#!/usr/bin/env bash
# The performance benchmark (issue 7's `make bench`): MobileNetV2 1.0/224 (300.8M MACs) on the RTL
# at the given knobs (`make bench`: PC=PF=16 as the paper, PD=9, a 256-byte stream, 150 MHz) with a
# 64-byte-per-cycle memory, bit-exact, printing the harness's per-layer table (cycles, MACs,
# utilisation, stalls, bytes, bound) and the totals (cycles, FPS, GOPS, utilisation).
#
#   scripts/bench.sh BIN_DIR "ELABORATE KNOBS" [MODEL_DIR]
#   BENCH_BANDWIDTH (64), BENCH_LATENCY (64) set the memory model.
# The Vtop binary is rebuilt only when the elaborated Verilog changed (a paper-size build takes
# 5-12 minutes on two cores).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 BIN_DIR \"KNOBS\" [MODEL_DIR]" >&2; exit 2; }
bin=$1 knobs=$2
model=${3:-${DSC_MODELS:-../shared/models}/mobilenet_v2_quantized_1x3x224x224}
[ -f "$model/model.tflite" ] || { echo "bench: $model/model.tflite not found (set DSC_MODELS or pass the model folder)" >&2; exit 1; }
case_dir=$(for d in "$model"/*/; do [ -f "$d/input.bin" ] && [ -f "$d/expected.bin" ] && { echo "${d%/}"; break; }; done)
[ -n "$case_dir" ] || { echo "bench: no case folder with input.bin and expected.bin in $model" >&2; exit 1; }
name=$(echo "$knobs" | tr -d ' -' )
rtl=build/rtl-bench-$name vtop=build/vtop-bench-$name run=build/bench-$name
rm -rf "$rtl"
# shellcheck disable=SC2086
"$bin/elaborate" $knobs --out "$rtl" >/dev/null
sum=$(cat "$rtl"/*.v | md5sum | cut -d' ' -f1)
if [ "$(cat "$vtop/rtl.md5" 2>/dev/null)" != "$sum" ] || [ ! -x "$vtop/Vtop" ]; then
  scripts/build-vtop.sh "$rtl" "$vtop"
  echo "$sum" > "$vtop/rtl.md5"
fi
"$bin/dsc" compile "$model/model.tflite" --input "$case_dir/input.bin" --config "$rtl/config.json" --out "$run"
"$vtop/Vtop" "$run" --bandwidth "${BENCH_BANDWIDTH:-64}" --latency "${BENCH_LATENCY:-64}" --max-cycles 400000000
"$bin/dsc" finish "$run"
