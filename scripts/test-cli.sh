#!/usr/bin/env bash
# The command-line front ends as a user meets them: bad input is one line on stderr and exit 1,
# and good input gives the reference model's bytes (checked against LiteRT/tflite-micro goldens
# from ../shared/models, or $DSC_MODELS, when present).
set -uo pipefail
bin=${1:-.build/release}
models=${DSC_MODELS:-../shared/models}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0 skip=0
ok()   { pass=$((pass + 1)); }
bad()  { fail=$((fail + 1)); echo "test-cli: FAIL: $*" >&2; }

# expect_error EXPECTED_TEXT COMMAND...: exit status 1, exactly one stderr line containing the text.
expect_error() {
  local want=$1; shift
  "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  if [ $rc -ne 1 ]; then bad "$* exited $rc, not 1"; return; fi
  if [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -qF -- "$want" "$tmp/err"; then
    bad "$* printed '$(cat "$tmp/err")', expected one line with '$want'"; return
  fi
  ok
}

expect_error "--pc 0: must be at least 1" "$bin/elaborate" --pc 0 --out "$tmp/rtl"
expect_error "PD must not exceed PF" "$bin/elaborate" --pd 32 --out "$tmp/rtl"
expect_error "Missing value for '--pc" "$bin/elaborate" --pc
expect_error "--ram-m-kib 9007199254740993: must be 0 to 65536 KiB" "$bin/elaborate" --ram-m-kib 9007199254740993 --out "$tmp/rtl"
expect_error "--ram-s-kib -1: must be 0 to 65536 KiB" "$bin/elaborate" --ram-s-kib=-1 --out "$tmp/rtl"
expect_error "Unknown option '--bogus'" "$bin/elaborate" --bogus 3
expect_error "Unexpected argument 'nosuch'" "$bin/dsc" nosuch
expect_error "does not exist" "$bin/dsc" info "$tmp/missing.tflite"
printf 'not a flatbuffer at all' >"$tmp/bad.tflite"
expect_error "not a TFLite model" "$bin/dsc" info "$tmp/bad.tflite"

"$bin/elaborate" --pc 4 --pf 4 --pd 2 --out "$tmp/rtl" >/dev/null && ok || bad "elaborate --pc 4 --pf 4 --pd 2 failed"

# The simulator's folder and the host's last step: the device output the harness would write, run
# through softmax, must give expected.bin; a corrupted one must be refused in one line.
expect_error "no-such-net" "$bin/dsc" compile --builtin no-such-net --config "$tmp/rtl/config.json" --out "$tmp/none"
if "$bin/dsc" compile --builtin dscnn-tiny --config "$tmp/rtl/config.json" --out "$tmp/tiny" >/dev/null \
   && [ -s "$tmp/tiny/sim.txt" ] && cp "$tmp/tiny/expected_device.bin" "$tmp/tiny/device_output.bin" \
   && "$bin/dsc" finish "$tmp/tiny" >/dev/null; then ok; else bad "dsc compile --builtin dscnn-tiny then dsc finish on its own expected device output failed"; fi
printf '\x7f\x80\x01\x02' >"$tmp/tiny/device_output.bin"
expect_error "expected.bin" "$bin/dsc" finish "$tmp/tiny"
# dsc estimate takes the built-in networks as compile does, and one source only.
if "$bin/dsc" estimate --builtin dscnn-tiny --config "$tmp/rtl/config.json" | grep -q '^total: .* cycles'; then ok
else bad "dsc estimate --builtin dscnn-tiny printed no total"; fi
expect_error "give a .tflite model or --builtin" "$bin/dsc" estimate --config "$tmp/rtl/config.json"
# --records: a line per control record, whose cycles add up to the total.
"$bin/dsc" estimate --builtin dscnn-tiny --config "$tmp/rtl/config.json" --records > "$tmp/records.txt"
sum=$(awk '/^record [0-9]+ \(layer [0-9]+\): [0-9]+ cycles$/ { s += $5 } END { print s + 0 }' "$tmp/records.txt")
total=$(sed -n 's/^total: \([0-9]*\) cycles, \([0-9]*\) records.*/\1 \2/p' "$tmp/records.txt")
if [ "$sum $(grep -c '^record ' "$tmp/records.txt")" = "$total" ]; then ok
else bad "dsc estimate --records: the records' cycles and count ($sum, $(grep -c '^record ' "$tmp/records.txt")) are not the total's ($total)"; fi

if [ -d "$models/kws_ref_model" ]; then
  m=$models/kws_ref_model; case_dir=$m/mlperf_kws_sample0
  head -c 100 "$case_dir/input.bin" >"$tmp/short.bin"
  expect_error "$tmp/none.json" "$bin/dsc" estimate "$m/model.tflite" --config "$tmp/none.json"
  expect_error "input" "$bin/dsc" infer "$m/model.tflite" --input "$tmp/short.bin" --output "$tmp/o.bin"
  if "$bin/dsc" infer "$m/model.tflite" --input "$case_dir/input.bin" --output "$tmp/o.bin" >/dev/null \
     && cmp -s "$tmp/o.bin" "$case_dir/expected.bin"; then ok; else bad "dsc infer kws differs from expected.bin"; fi
  if "$bin/dsc" compile "$m/model.tflite" --config "$tmp/rtl/config.json" --input "$case_dir/input.bin" --out "$tmp/kws" >/dev/null \
     && cmp -s "$tmp/kws/expected.bin" "$case_dir/expected.bin" && [ -s "$tmp/kws/instructions.bin" ] && [ -s "$tmp/kws/memory.bin" ]; then ok
  else bad "dsc compile kws: missing outputs or expected.bin differs from the golden"; fi
  if "$bin/dsc" estimate "$m/model.tflite" --config "$tmp/rtl/config.json" | grep -q '^total: .* cycles'; then ok
  else bad "dsc estimate kws printed no total"; fi
  # A corrupt file's strings are data: tensor 7's name given a control character (0x1C for the 'u'
  # of Relu, byte 48369) and its zero point put out of range (byte 47563, found by fuzzing) make an
  # error that quotes the name, and it stays one line, the character written as an escape.
  cp "$m/model.tflite" "$tmp/ctl.tflite"
  printf '\034' | dd of="$tmp/ctl.tflite" bs=1 seek=48369 conv=notrunc 2>/dev/null
  printf '\374' | dd of="$tmp/ctl.tflite" bs=1 seek=47563 conv=notrunc 2>/dev/null
  expect_error 'tensor 7 (functional_1/activation_3/Rel\u{1C};' "$bin/dsc" info "$tmp/ctl.tflite"
else
  skip=$((skip + 6))
  echo "test-cli: skipping the model checks: $models/kws_ref_model not found (set DSC_MODELS)"
fi

echo "test-cli: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
