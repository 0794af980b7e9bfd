#!/usr/bin/env bash
# Self-test of the Verilator harness (sim/) against the stand-in top of sim/test/AcceleratorTop.v and
# small folders written by sim/test/make_case.cpp, whose expected bytes are computed there from the
# copy-pass semantics. Checks: bit-exact runs under back-pressure, bandwidth and latency; the layer
# checks and the final compare catch a corrupted byte; STATUS.error, timeouts and a wrong tlast fail;
# bad arguments and bad folders are one line on stderr with exit 1; B = 32 and 256 (9-bit chunks, a
# 128-byte record beat, CONFIG's B field reading 0) and FST waves work.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=build/harness-test
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "test-harness: FAIL: $*" >&2; }

build() {   # build NAME VFLAGS [TRACE]
  if ! VTOP_VFLAGS=$2 TRACE=${3:-0} scripts/build-vtop.sh sim/test "$work/$1" >"$tmp/build.txt" 2>&1; then
    cat "$tmp/build.txt" >&2; echo "test-harness: cannot build the stand-in ($1)" >&2; exit 1
  fi
  sed 's/^/  /' "$tmp/build.txt"
}
mkdir -p "$work"
g++ -std=c++17 -O1 -Wall -Wextra -Werror -o "$work/make_case" sim/test/make_case.cpp || { echo "test-harness: cannot build make_case" >&2; exit 1; }
make_case=$work/make_case
build b16 ""
build b32 "-GB=9'd32" 1
build b256 "-GB=9'd256"
v16=$work/b16/Vtop v32=$work/b32/Vtop v256=$work/b256/Vtop

"$make_case" "$tmp/good"
"$make_case" "$tmp/good32" --stream-bytes 32
"$make_case" "$tmp/good256" --stream-bytes 256
"$make_case" "$tmp/layer" --corrupt-layer 5
"$make_case" "$tmp/final" --corrupt-expected
"$make_case" "$tmp/magic" --bad-magic
for f in 1 2 3 4 5; do "$make_case" "$tmp/fault$f" --fault $f; done

# expect_pass COMMAND...: exit 0, PASS line, device_output.bin equal to expected_device.bin.
expect_pass() {
  local dir=$2
  rm -f "$dir/device_output.bin"
  if "$@" >"$tmp/out" 2>"$tmp/err" && grep -q '^PASS' "$tmp/out" && cmp -s "$dir/device_output.bin" "$dir/expected_device.bin"; then ok
  else bad "$* (exit $?): $(cat "$tmp/err")"; fi
}
# expect_error TEXT COMMAND...: exit 1 and exactly one stderr line containing TEXT.
expect_error() {
  local want=$1; shift
  "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  if [ $rc -ne 1 ]; then bad "$* exited $rc, not 1"; return; fi
  if [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -qF -- "$want" "$tmp/err"; then
    bad "$* printed '$(cat "$tmp/err")', expected one line with '$want'"; return
  fi
  ok
}
total_cycles() { sed -n 's/^total: \([0-9]*\) cycles.*/\1/p' "$tmp/out"; }

# Bit-exact under every memory-side timing.
expect_pass "$v16" "$tmp/good"
for seed in 1 2 3 4 5; do expect_pass "$v16" "$tmp/good" --backpressure 0.4 --seed "$seed" --latency $((seed * 7)); done
expect_pass "$v16" "$tmp/good" --bandwidth 2.5 --latency 0 --backpressure 0.2
expect_pass "$v32" "$tmp/good32" --backpressure 0.3 --seed 9
expect_pass "$v32" "$tmp/good32" --bandwidth 1
expect_pass "$v256" "$tmp/good256" --backpressure 0.3 --seed 4
expect_pass "$v256" "$tmp/good256" --bandwidth 64 --latency 64

# Timing figures follow the model: at N bytes/cycle the run takes at least bytes/N cycles; each record
# needs two reads in sequence (record, then pixels), each at least --latency cycles.
"$v16" "$tmp/good" --bandwidth 4 >"$tmp/out" 2>&1
bytes=$(sed -n 's/^memory: \([0-9]*\) bytes read, \([0-9]*\) bytes written.*/\1 \2/p' "$tmp/out")
read -r rd wr <<<"$bytes"
[ "${rd:-0}" -eq 1172 ] && [ "${wr:-0}" -eq 720 ] && [ "$(total_cycles)" -ge $(((rd + wr) / 4)) ] && ok \
  || bad "bandwidth 4: $(total_cycles) cycles for ${rd:-?}+${wr:-?} bytes (expected 1172+720 bytes, >= 473 cycles)"
"$v16" "$tmp/good" --latency 200 >"$tmp/out" 2>&1
[ "$(total_cycles)" -ge 1600 ] && ok || bad "latency 200: $(total_cycles) cycles, expected >= 4 records x 2 reads x 200"
# The device's CYCLES counter and the harness's count of the same run agree within the done handshake.
dev=$(sed -n 's/^device counters: CYCLES \([0-9]*\),.*RECORDS_DONE 4,.*/\1/p' "$tmp/out")
[ -n "$dev" ] && [ $(( $(total_cycles) - dev )) -le 2 ] && [ $(( dev - $(total_cycles) )) -le 2 ] && ok \
  || bad "device CYCLES '$dev' vs harness $(total_cycles)"
grep -q '^     5 COPY_PAD .* 2000 ' "$tmp/out" && ok || bad "the per-layer table has no row for layer 5"
# The last finished layer's registers: three layers (3 3 5 7 on trace_layer), the last is 7, and its
# LAYER_DONE_CYCLES (checked by the harness against its own count) is the table's row for layer 7.
last=$(sed -n 's/^     7 COPY_WIDE *[0-9]* *\([0-9]*\) .*/\1/p' "$tmp/out")
grep -q "LAYERS_DONE 3, LAYER_DONE_INDEX 7, LAYER_DONE_CYCLES ${last:-x}," "$tmp/out" && ok \
  || bad "layer registers: $(grep '^device counters' "$tmp/out") (layer 7's row: ${last:-none})"
# trace_layer is checked against the layer lines (a warning: the data decide).
"$v16" "$tmp/good" >"$tmp/out" 2>&1 && ! grep -q '^warning' "$tmp/out" && ok || bad "a warning on the good case: $(grep warning "$tmp/out")"
rm -rf "$tmp/m"; cp -r "$tmp/good" "$tmp/m"; sed -i 's/^layer 5 COPY_PAD/layer 6 COPY_PAD/' "$tmp/m/sim.txt"
"$v16" "$tmp/m" >"$tmp/out" 2>&1 && grep -q '^warning: record 2 ends layer 6 (COPY_PAD) in sim.txt, but trace_layer says 5' "$tmp/out" && ok \
  || bad "no trace_layer warning: $(cat "$tmp/out")"
# --verbose: one line per record, in order, with the record's trace_layer.
"$v16" "$tmp/good" --verbose | sed -n 's/^record \([0-9]*\) (layer \([0-9]*\)) done at cycle .*/\1:\2/p' | tr '\n' ' ' >"$tmp/v"
[ "$(cat "$tmp/v")" = "0:3 1:3 2:5 3:7 " ] && ok || bad "--verbose printed records '$(cat "$tmp/v")'"
# Same seed, same run.
"$v16" "$tmp/good" --backpressure 0.5 --seed 42 | grep '^total' >"$tmp/a"
"$v16" "$tmp/good" --backpressure 0.5 --seed 42 | grep '^total' >"$tmp/b"
cmp -s "$tmp/a" "$tmp/b" && ok || bad "--seed 42 twice gave different totals"

# Wrong results and a misbehaving top fail with one line.
expect_error "layer 5 (COPY_PAD) after record 2" "$v16" "$tmp/layer"
grep -qF "first mismatch at element 17 (address 0x3011)" "$tmp/err" && ok || bad "layer mismatch message: $(cat "$tmp/err")"
expect_error "differs from $tmp/final/expected_device.bin at element 100" "$v16" "$tmp/final"
expect_error "STATUS.error at record 2" "$v16" "$tmp/magic"
expect_error "timeout: no STATUS.done after 300 cycles" "$v16" "$tmp/good" --max-cycles 300
expect_error "m_axis beat 14 of 15 of the write command at 0x2069 has tlast=1" "$v16" "$tmp/fault1"
expect_error "tkeep byte 7 is 1, but the command's chunk is 7" "$v16" "$tmp/fault2"
expect_error "m_rd_cmd valid dropped without a handshake" "$v16" "$tmp/fault3" --backpressure 0.9
expect_error "m_wr_cmd command (address 0x40002069, chunk 7, count1 5, count2 3): reaches beyond the memory image" "$v16" "$tmp/fault4"
expect_error "LAYER_DONE_CYCLES is" "$v16" "$tmp/fault5"
expect_error "rebuild for the folder's configuration" "$v16" "$tmp/good32"
expect_error "rebuild for the folder's configuration" "$v256" "$tmp/good"

# Waves only from a tracing build, and there they are written.
expect_error "built without tracing" "$v16" "$tmp/good" --fst "$tmp/w.fst"
expect_pass "$v32" "$tmp/good32" --fst "$tmp/w.fst" --from 100 --to 300
[ -s "$tmp/w.fst" ] && ok || bad "--fst wrote no waves"

# Bad arguments and bad folders.
expect_error "--bandwidth 0: must be positive" "$v16" "$tmp/good" --bandwidth 0
expect_error "--backpressure 1: must be in [0, 1)" "$v16" "$tmp/good" --backpressure 1
expect_error "--latency x: must be a non-negative integer" "$v16" "$tmp/good" --latency x
expect_error "unknown option --fast" "$v16" "$tmp/good" --fast
expect_error "--seed: needs a value" "$v16" "$tmp/good" --seed
expect_error "unexpected argument" "$v16" "$tmp/good" "$tmp/good"
expect_error "--from/--to need --fst" "$v16" "$tmp/good" --from 3
expect_error "$tmp/none/sim.txt: cannot read" "$v16" "$tmp/none"
malformed() {   # malformed TEXT SED-EXPRESSION
  rm -rf "$tmp/m"; cp -r "$tmp/good" "$tmp/m"; sed -i "$2" "$tmp/m/sim.txt"; expect_error "$1" "$v16" "$tmp/m"
}
malformed "sim.txt:2: stream_bytes 17 must be 16, 32, 64, 128 or 256" 's/^stream_bytes 16/stream_bytes 17/'
malformed "unknown key 'frobnicate'" '$a frobnicate 1'
malformed "'layer' takes 7 fields" 's/^layer 5 .*/layer 5 COPY_PAD 2000/'
malformed "no 'records' line" '/^records/d'
malformed "is not after the previous layer's" 's/^layer 7 COPY_WIDE 3000 3/layer 7 COPY_WIDE 3000 2/'
malformed "only 4 records" 's/^layer 7 COPY_WIDE 3000 3/layer 7 COPY_WIDE 3000 4/'
malformed "layer address '0x' is not" 's/^layer 3 COPY 1000 1 8192/layer 3 COPY 1000 1 0x/'
malformed "'weights' takes 2 fields: ADDRESS BEATS" '$a weights 4096'
malformed "the weight stream does not fit the 32-bit registers" '$a weights 4096 4294967296'
# The on-chip figures (the stand-in has no on-chip memory: its registers read 0).
malformed "RAM_S_BYTES + RAM_M_BYTES say 0 + 0 on-chip bytes, but sim.txt's on_chip line says 4096" '$a on_chip 2147483648 4096'
malformed "ONCHIP_READ_BEATS 0 and ONCHIP_WRITE_BEATS 0, but the records move 5 and 0 beats on chip" '$a on_chip_beats 5 0'
malformed "'on_chip_beats' takes 2 fields" '$a on_chip_beats 5'
rm -rf "$tmp/m"; cp -r "$tmp/good" "$tmp/m"; echo "on_chip_beats 0 0" >>"$tmp/m/sim.txt"
expect_pass "$v16" "$tmp/m"
rm -rf "$tmp/m"; cp -r "$tmp/good" "$tmp/m"; rm "$tmp/m/layers/5.bin"
expect_error "layer file $tmp/m/layers/5.bin: cannot read" "$v16" "$tmp/m"
# A memory image cut short before its records: named, not run into a record of zeros.
rm -rf "$tmp/m"; cp -r "$tmp/good" "$tmp/m"; head -c 1000 "$tmp/good/memory.bin" >"$tmp/m/memory.bin"
expect_error "memory image $tmp/m/memory.bin is 1000 bytes, but sim.txt puts the records at bytes" "$v16" "$tmp/m"
rm -rf "$tmp/m"; cp -r "$tmp/good" "$tmp/m"; head -c 100 "$tmp/good/expected_device.bin" >"$tmp/m/expected_device.bin"
expect_error "100 bytes, but sim.txt's output says 240" "$v16" "$tmp/m"

echo "test-harness: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
