#!/usr/bin/env bash
# Prints the resource table of one synthesised configuration (Markdown) from the report.txt files
# scripts/synth-xilinx.sh wrote, with the paper's Table 1 beside it when the configuration is the
# paper's (PK=9 PV=9 PC=16 PF=16 PD=6, int8, no DSP packing).
#
#   scripts/synth-table.sh SYNTH_DIR CONFIG_JSON
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 SYNTH_DIR CONFIG_JSON" >&2; exit 2; }
synth=$1 config=$2
[ -f "$config" ] || { echo "synth-table: $config is missing" >&2; exit 1; }

# config.json is JSONEncoder's pretty, sorted output: one `"key" : value,` per line.
cfg() { sed -n "s/^ *\"$1\" *: *\([^,]*\),\{0,1\} *$/\1/p" "$config"; }
get() { sed -n "s/^$2=//p" "$1"; }

pk=$(cfg pk) pv=$(cfg pv) pc=$(cfg pc) pf=$(cfg pf) pd=$(cfg pd) mhz=$(cfg clockMHz) packing=$(cfg dspPacking)
mults=$((pk * pc * pf))
if [ "$packing" = "true" ]; then need=$(((mults + 1) / 2)); how="two int8 products per DSP48E1"; else need=$mults; how="one product per DSP48E1"; fi

echo "Configuration PK=$pk PV=$pv PC=$pc PF=$pf PD=$pd, ${mhz} MHz, DSP packing $packing:"
echo "$mults multipliers (PK×PC×PF) need $need DSP48E1 in the convolution engine ($how)."
echo
echo "| top | LUT | FF | DSP48E1 | RAMB18 | RAMB36 | BRAM (36 Kb) | LUT-RAM cells | Yosys s |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
reports=()
for r in "$synth"/*/report.txt; do [ -f "$r" ] && reports+=("$r"); done
[ ${#reports[@]} -gt 0 ] || { echo "synth-table: no report.txt under $synth" >&2; exit 1; }
for r in "${reports[@]}"; do
  echo "| $(get "$r" top) | $(get "$r" lut) | $(get "$r" ff) | $(get "$r" dsp) | $(get "$r" ramb18) | $(get "$r" ramb36) | $(get "$r" bram36) | $(get "$r" lutram) | $(get "$r" seconds) |"
done
# Tops are separate units (TOPS lists each once), so their sum is the datapath's total.
if [ ${#reports[@]} -gt 1 ]; then
  total() { for r in "${reports[@]}"; do get "$r" "$1"; done | awk '{ s += $1 } END { printf "%g", s }'; }
  echo "| total | $(total lut) | $(total ff) | $(total dsp) | $(total ramb18) | $(total ramb36) | $(total bram36) | $(total lutram) | $(total seconds) |"
fi
if [ "$pk $pv $pc $pf $pd $packing" = "9 9 16 16 6 false" ]; then
  # Seed 003, Table 1: Vivado after place and route on XC7V690T at 150 MHz, the whole accelerator.
  echo "| paper Table 1 (Vivado, XC7V690T, whole accelerator) | 308449 | 278926 | 2160 | - | - | 941.5 | - | - |"
fi
