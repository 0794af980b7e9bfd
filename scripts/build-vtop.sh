#!/usr/bin/env bash
# Builds ./Vtop: verilates RTL_DIR/AcceleratorTop.v (with every other .v in RTL_DIR) together with the
# C++ harness in sim/ into OUT_DIR/Vtop, objects in OUT_DIR/obj.
#   TRACE=1        adds FST waveforms (--fst FILE --from C --to C)
#   VTOP_VFLAGS    extra verilator arguments (e.g. -GB=8'd32 for the stand-in top of sim/test)
# The harness must compile without a warning under -Wall -Wextra: any compiler warning in sim/ fails the build.
set -euo pipefail
usage() { echo "usage: scripts/build-vtop.sh RTL_DIR OUT_DIR" >&2; exit 1; }
[ $# -eq 2 ] || usage
rtl=$1 out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
sim=$root/sim
[ -f "$rtl/AcceleratorTop.v" ] || { echo "build-vtop: $rtl/AcceleratorTop.v not found (elaborate the RTL first)" >&2; exit 1; }
command -v verilator >/dev/null || { echo "build-vtop: verilator not found (scripts/install-tools.sh installs it)" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
rtl=$(cd "$rtl" && pwd)
trace=()
cflags="-O2 -std=c++17 -Wall -Wextra -I$sim"
if [ "${TRACE:-0}" = 1 ]; then
  trace=(--trace-fst)
  cflags="$cflags -DVTOP_TRACE"
fi
log=$out/build.log
start=$(date +%s)
# Verilator 5.006: -MAKEFLAGS carries OPT_FAST to the generated Makefile; --no-timing because the RTL has
# no delays and the harness drives the clock; single-threaded model (no --threads).
# shellcheck disable=SC2086
if ! verilator --cc --exe --build -O3 -Wall --no-timing --top-module AcceleratorTop --prefix Vtop \
    --Mdir "$out/obj" -o "$out/Vtop" -CFLAGS "$cflags" -MAKEFLAGS "OPT_FAST=-O2" \
    --output-split-cfuncs 20000 -j 2 "${trace[@]}" ${VTOP_VFLAGS:-} \
    "$rtl"/*.v "$sim"/*.cpp >"$log" 2>&1; then
  cat "$log" >&2
  echo "build-vtop: verilator build of $rtl failed (log: $log)" >&2
  exit 1
fi
# Verilator's Makefile puts -Wno-unused-* before our flags, which -Wall does not undo, so the harness is
# checked on its own with the generated and Verilator headers as system headers.
vroot=$(verilator --getenv VERILATOR_ROOT)
defs=()
[ "${TRACE:-0}" = 1 ] && defs=(-DVTOP_TRACE)
for f in "$sim"/*.cpp; do
  if ! g++ -std=c++17 -fsyntax-only -Wall -Wextra -Werror "${defs[@]}" -I"$sim" -isystem "$out/obj" \
      -isystem "$vroot/include" -isystem "$vroot/include/vltstd" "$f" >>"$log" 2>&1; then
    grep -A3 "error" "$log" | head -20 >&2
    echo "build-vtop: the harness $f compiles with warnings under -Wall -Wextra (log: $log)" >&2
    exit 1
  fi
done
echo "build-vtop: $out/Vtop from $rtl in $(( $(date +%s) - start )) s"
