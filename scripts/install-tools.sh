#!/usr/bin/env bash
# Makes sure the system tools the flow needs are present: verilator, iverilog, yosys (and tclsh for
# the Vivado script syntax check). Installs them with apt when running as root, says so, and stops
# with one clear line otherwise.
set -euo pipefail
need=()
for tool in verilator:verilator iverilog:iverilog yosys:yosys tclsh:tcl; do
  bin=${tool%%:*}; pkg=${tool##*:}
  command -v "$bin" >/dev/null 2>&1 || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "install-tools: installing missing system tools with apt: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need[@]}" >/dev/null
  echo "install-tools: installed ${need[*]}"
else
  echo "install-tools: missing ${need[*]}; install them (e.g. sudo apt-get install ${need[*]}) and re-run" >&2
  exit 1
fi
