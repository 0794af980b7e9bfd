#!/usr/bin/env bash
# Synthesises elaborated RTL with Yosys synth_xilinx (scripts/synth-xilinx.ys) and writes, per top,
# OUT/<top>/report.txt: one `key=value` per line (lut, ff, dsp, ramb18, ramb36, bram36, lutram,
# srl, carry, block_memories, block_memories_in_lutram), which `make synth`, fpga-docs and the
# tests read. Fails when a memory the generator marked ram_style "block" ended up in LUT-RAM.
#
#   scripts/synth-xilinx.sh RTL_DIR OUT_DIR [TOP ...]     (tops default to RTL_DIR/TOPS)
#   FAMILY=xcup scripts/synth-xilinx.sh ...               (xc7 by default: DSP48E1, RAMB18E1/36E1)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 2 ] || { echo "usage: $0 RTL_DIR OUT_DIR [TOP ...]" >&2; exit 2; }
rtl=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
shift 2
family=${FAMILY:-xc7}
yosys=${YOSYS:-yosys}
command -v "$yosys" >/dev/null 2>&1 || { echo "synth: $yosys not found (make tools installs it)" >&2; exit 1; }

files=("$rtl"/*.v)
[ -e "${files[0]}" ] || { echo "synth: no Verilog in $rtl (elaborate first)" >&2; exit 1; }
tops=("$@")
if [ ${#tops[@]} -eq 0 ]; then
  [ -f "$rtl/TOPS" ] || { echo "synth: $rtl/TOPS is missing and no top was named" >&2; exit 1; }
  while read -r t; do [ -n "$t" ] && tops+=("$t"); done < "$rtl/TOPS"
fi
[ ${#tops[@]} -gt 0 ] || { echo "synth: $rtl/TOPS names no top" >&2; exit 1; }

# Cell counts from `stat` text: "     LUT6     123".
count() { awk -v re="^($2)\$" '$1 ~ re && $2 ~ /^[0-9]+$/ { n += $2 } END { print n + 0 }' "$1"; }

for top in "${tops[@]}"; do
  dir="$out/$top"
  rm -rf "$dir"; mkdir -p "$dir"
  sed "s/-family xc7/-family $family/" "$here/synth-xilinx.ys" > "$dir/flow.ys"
  reads=""
  for f in "${files[@]}"; do reads+="read_verilog $f; "; done
  start=$(date +%s)
  if ! (cd "$dir" && "$yosys" -q -l yosys.log -p "${reads}hierarchy -check -top $top; script flow.ys" >/dev/null 2>&1); then
    echo "synth: yosys failed on $top; the end of $dir/yosys.log:" >&2
    tail -n 15 "$dir/yosys.log" >&2
    exit 1
  fi
  seconds=$(( $(date +%s) - start ))
  s="$dir/stat.txt"
  # Match an intended block memory (TOP/u0.wbuf) against LUT-RAM cells named after it (TOP/u0.wbuf.0.1).
  misplaced=0
  while read -r mem; do
    [ -n "$mem" ] || continue
    if grep -qF -- "$mem." "$dir/lutram-cells.txt"; then
      echo "synth: $top: memory ${mem#*/} asks for block RAM but was mapped to LUT-RAM" >&2
      misplaced=$((misplaced + 1))
    fi
  done < "$dir/block-memories.txt"
  ramb18=$(count "$s" 'RAMB18E[12]')
  ramb36=$(count "$s" 'RAMB36E[12]')
  {
    echo "top=$top"
    echo "family=$family"
    echo "lut=$(count "$s" 'LUT[1-6]')"
    echo "ff=$(count "$s" 'FD[RSCP]E')"
    echo "dsp=$(count "$s" 'DSP48E[12]')"
    echo "ramb18=$ramb18"
    echo "ramb36=$ramb36"
    # BRAM in 36 Kb blocks, the unit of the paper's Table 1 (941.5).
    echo "bram36=$(awk -v a="$ramb36" -v b="$ramb18" 'BEGIN { printf "%g", a + b / 2 }')"
    echo "lutram=$(wc -l < "$dir/lutram-cells.txt" | tr -d ' ')"
    echo "srl=$(count "$s" 'SRL16E|SRLC32E')"
    echo "carry=$(count "$s" 'CARRY4|CARRY8')"
    echo "block_memories=$(grep -c . "$dir/block-memories.txt" || true)"
    echo "block_memories_in_lutram=$misplaced"
    echo "seconds=$seconds"
  } > "$dir/report.txt"
  echo "synth: $top done in ${seconds}s -> $dir/report.txt"
  [ "$misplaced" -eq 0 ] || exit 1
done
