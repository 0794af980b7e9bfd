#!/usr/bin/env bash
# Lints emitted Verilog the way the project promises: verilator -Wall with no waivers,
# iverilog -g2005, and a Yosys read, for every top listed in DIR/TOPS (one per line).
set -euo pipefail
dir=${1:-rtl}
files=("$dir"/*.v)
[ -e "${files[0]}" ] || { echo "lint: no Verilog in $dir (run elaborate first)" >&2; exit 1; }
[ -f "$dir/TOPS" ] || { echo "lint: $dir/TOPS is missing (elaborate writes it)" >&2; exit 1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
n=0
while read -r top; do
  [ -n "$top" ] || continue
  if ! verilator --lint-only -Wall --top-module "$top" "${files[@]}" >"$log" 2>&1 || grep -q '%Warning\|%Error' "$log"; then
    echo "lint: verilator -Wall complains about $top:" >&2; cat "$log" >&2; exit 1
  fi
  iverilog -g2005 -o /dev/null -s "$top" "${files[@]}"
  yosys -q -p "read_verilog ${files[*]}; hierarchy -check -top $top" >/dev/null
  n=$((n + 1))
done < "$dir/TOPS"
echo "lint: ${#files[@]} files, $n tops clean under verilator -Wall, iverilog -g2005 and yosys"
