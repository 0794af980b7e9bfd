# VC709 (xc7vx690tffg1761-2; seed 003's board, the paper's Table 1 part). Clock constraint of the
# accelerator top.
#
# The VC709 has no processor: the accelerator sits behind a PCIe (XDMA) bridge and the board's
# DDR3 controllers, and scripts/vivado-build.tcl implements it out of context. Its ports go to:
#   clk        the XDMA's axi_aclk or a clocking wizard on the 200 MHz system clock (SYSCLK_P/N, H19/G18)
#   rst        a synchronous, active-high reset from a proc_sys_reset on that clock
#   the rest   AXI-Stream/AXI-Lite adapters (DMA for feature maps and weights, an AXI-Lite register
#              file for layer descriptors); none of them is a package pin.
#
# The period below is the paper's 150 MHz. scripts/vivado-build.tcl rewrites it from the
# clockMHz of the RTL folder's config.json, so `elaborate --clock-mhz F` sets the constraint.
create_clock -period 6.667 -name clk [get_ports clk]
