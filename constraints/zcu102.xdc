# ZCU102 (xczu9eg-ffvb1156-2-e; seed 001's board). Clock constraint of the accelerator top.
#
# The accelerator sits in the PL behind the Zynq UltraScale+ PS's AXI HP/HPC ports, and
# scripts/vivado-build.tcl implements it out of context. Its ports go to:
#   clk        pl_clk0 of the zynq_ultra_ps_e (or a clocking wizard fed by it)
#   rst        the synchronous, active-high peripheral_reset of a proc_sys_reset on that clock
#   the rest   AXI-Stream/AXI-Lite adapters in the block design (DMA for feature maps and weights,
#              an AXI-Lite register file for layer descriptors); none of them is a package pin.
#
# UltraScale+ has DSP48E2 (27×18), not DSP48E1; the packed multiplier still fits one slice.
# The period below is the paper's 150 MHz. scripts/vivado-build.tcl rewrites it from the
# clockMHz of the RTL folder's config.json, so `elaborate --clock-mhz F` sets the constraint.
create_clock -period 6.667 -name clk [get_ports clk]
