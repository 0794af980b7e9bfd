#!/usr/bin/env bash
# Convolution-engine figures: multipliers and the elaborate summary, Verilator build time and
# simulated cycles/s (the ACCEL_BENCH test, which also checks every sum), and Yosys synth_xilinx
# cell counts (DSP48E1, LUT, FF, RAMB) of the datapath.
#   PC/PF/PD          engine knobs (default: the paper's 16/16/6)
#   SYNTH_PC/PF/PD    knobs for the Yosys run (default: the same); synth of 2304 multipliers
#                     takes tens of minutes on 2 cores, so a reduced engine may be asked for
#   SYNTH_TIMEOUT     seconds before Yosys is given up (default 3600)
#   PACKING=1         DSP packing (two int8 products per DSP48E1)
#   SKIP_SIM=1 / SKIP_SYNTH=1 leave out a part
set -euo pipefail
cd "$(dirname "$0")/.."
PC=${PC:-16}; PF=${PF:-16}; PD=${PD:-6}
SYNTH_PC=${SYNTH_PC:-$PC}; SYNTH_PF=${SYNTH_PF:-$PF}; SYNTH_PD=${SYNTH_PD:-$PD}
SYNTH_TIMEOUT=${SYNTH_TIMEOUT:-3600}
packing=(); [ "${PACKING:-0}" = 1 ] && packing=(--dsp-packing)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

swift build -c release --product elaborate >/dev/null
.build/release/elaborate --pc "$PC" --pf "$PF" --pd "$PD" "${packing[@]}" --out "$work/rtl"

if [ "${SKIP_SIM:-0}" != 1 ]; then
  # A fresh simulator cache, so the build is measured rather than found.
  HDLKIT_SIM_CACHE="$work/sim" ACCEL_BENCH=1 ACCEL_BENCH_PC=$PC ACCEL_BENCH_PF=$PF ACCEL_BENCH_PD=$PD \
    ACCEL_BENCH_PACKING=${PACKING:-0} swift test -c release --filter ConvolutionEngineBenchmarkTests 2>&1 \
    | grep -E "bench-engine:|error|failed" || true
fi

if [ "${SKIP_SYNTH:-0}" != 1 ]; then
  .build/release/elaborate --pc "$SYNTH_PC" --pf "$SYNTH_PF" --pd "$SYNTH_PD" "${packing[@]}" --out "$work/synth" >/dev/null
  top=$(head -1 "$work/synth/TOPS")
  start=$(date +%s)
  if timeout "$SYNTH_TIMEOUT" yosys -q -p "read_verilog $work/synth/*.v; synth_xilinx -family xc7 -top $top; tee -o $work/stat.txt stat" >/dev/null 2>&1; then
    secs=$(( $(date +%s) - start ))
    # The last "Number of cells" block is the whole design, children included.
    awk -v top="$top" -v secs="$secs" -v m="$((9 * SYNTH_PC * SYNTH_PF))" '
      /Number of cells/ { dsp = lut = ff = ram = 0 }
      $1 == "DSP48E1" { dsp += $2 }
      $1 ~ /^LUT[1-6]$/ { lut += $2 }
      $1 ~ /^FD(RE|SE|CE|PE)$/ { ff += $2 }
      $1 ~ /^RAMB(18|36)E1$/ { ram += $2 }
      END { printf "bench-engine: yosys synth_xilinx %s (%d multipliers, %d s): DSP48E1 %d, LUT %d, FF %d, RAMB %d\n", top, m, secs, dsp, lut, ff, ram }
    ' "$work/stat.txt"
  else
    echo "bench-engine: yosys synth_xilinx of $top did not finish within ${SYNTH_TIMEOUT} s (try SYNTH_PC=4 SYNTH_PF=4 SYNTH_PD=2)"
  fi
fi
