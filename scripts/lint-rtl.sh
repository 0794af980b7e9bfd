#!/usr/bin/env bash
# Lints every emitted Verilog file the way the project promises: verilator -Wall with no waivers,
# iverilog -g2005, and a Yosys read. Fails on the first complaint.
set -euo pipefail
dir=${1:-rtl}
files=("$dir"/*.v)
[ -e "${files[0]}" ] || { echo "lint: no Verilog in $dir (run elaborate first)" >&2; exit 1; }
top=$(cat "$dir/TOP" 2>/dev/null || basename "${files[0]}" .v)
verilator --lint-only -Wall -Wno-fatal --top-module "$top" "${files[@]}" 2>&1 | tee /tmp/lint.$$ >/dev/null
if grep -q '%Warning\|%Error' /tmp/lint.$$; then cat /tmp/lint.$$ >&2; rm -f /tmp/lint.$$; exit 1; fi
rm -f /tmp/lint.$$
iverilog -g2005 -o /dev/null -s "$top" "${files[@]}"
yosys -q -p "read_verilog ${files[*]}; hierarchy -check -top $top" >/dev/null
echo "lint: ${#files[@]} files clean under verilator -Wall, iverilog -g2005 and yosys (top $top)"
