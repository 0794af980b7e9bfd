# Pynq-Z2 (xc7z020clg400-1; seed 000's board). Clock constraint of the accelerator top.
#
# The accelerator is not a pin-level design: it sits in the PL behind the Zynq PS's AXI ports, and
# scripts/vivado-build.tcl implements it out of context. Its ports go to:
#   clk        FCLK_CLK0 of the processing_system7 (or a clocking wizard fed by it)
#   rst        the synchronous, active-high peripheral_reset of a proc_sys_reset on that clock
#   the rest   AXI-Stream/AXI-Lite adapters in the block design (DMA for feature maps and weights,
#              an AXI-Lite register file for layer descriptors); none of them is a package pin.
# The board's own 125 MHz oscillator (pin H16) is not used by the accelerator.
#
# The period below is the paper's 150 MHz. scripts/vivado-build.tcl rewrites it from the
# clockMHz of the RTL folder's config.json, so `elaborate --clock-mhz F` sets the constraint.
create_clock -period 6.667 -name clk [get_ports clk]
