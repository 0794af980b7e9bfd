# FPGA flow: Yosys resource figures for Xilinx 7-series, an ECP5 place-and-route for small
# configurations, the Vivado script's syntax check, and docs/fpga.md regenerated from measured runs.
#
#   make synth                      paper configuration (PK=9 PV=9 PC=16 PF=16 PD=6)
#   make synth PC=4 PF=4 PD=4       any knobs; DSP_PACKING=1 packs two int8 products per DSP48E1
#   make synth RTL=dir              synthesise RTL elaborated elsewhere (DIR/*.v, DIR/TOPS, DIR/config.json)
#   make synth SYNTH_TOP=Name       one top instead of every top in TOPS
#   make pnr-ecp5                   Yosys + nextpnr-ecp5 on LFE5U-85F (installs yowasp-* into build/ecp5-venv when missing)
#   make vivado-check               tclsh parse of scripts/vivado-build.tcl with the Vivado commands stubbed
#   make fpga-docs                  re-measures the documented configurations and rewrites docs/fpga.md

DSP_PACKING ?= 0
CLOCK_MHZ   ?= 150
SYNTH_TOP   ?=
SYNTH_KNOBS  = $(KNOBS) --clock-mhz $(CLOCK_MHZ) $(if $(filter 1 yes true,$(DSP_PACKING)),--dsp-packing)
SYNTH_NAME   = pk$(PK)-pv$(PV)-pc$(PC)-pf$(PF)-pd$(PD)$(if $(filter 1 yes true,$(DSP_PACKING)),-packed)
# RTL given on the command line is used as it is; otherwise each configuration gets its own folder
# so runs of different knobs never overwrite each other's Verilog.
SYNTH_RTL    = $(if $(filter command line environment,$(origin RTL)),$(RTL),build/rtl-$(SYNTH_NAME))
SYNTH_OUT    = build/synth-$(patsubst rtl-%,%,$(notdir $(SYNTH_RTL)))
# The ECP5 default fits the 85k part's 156 multipliers: 9×4×4 = 144; its 468 KB of block RAM has no
# room for RAM-S and RAM-M, so that build has no on-chip feature-map memory.
ECP5_PC ?= 4
ECP5_PF ?= 4
ECP5_PD ?= 4

.PHONY: synth synth-elaborate pnr-ecp5 vivado-check fpga-docs

synth-elaborate: build
ifeq ($(filter command line environment,$(origin RTL)),)
	rm -rf $(SYNTH_RTL)
	$(BIN)/elaborate $(SYNTH_KNOBS) --out $(SYNTH_RTL)
endif

synth: synth-elaborate
	$(if $(SYNTH_TOP),,rm -rf $(SYNTH_OUT))
	scripts/synth-xilinx.sh $(SYNTH_RTL) $(SYNTH_OUT) $(SYNTH_TOP)
	@scripts/synth-table.sh $(SYNTH_OUT) $(SYNTH_RTL)/config.json | tee $(SYNTH_OUT)/table.md

pnr-ecp5: build
	rm -rf build/rtl-ecp5-pc$(ECP5_PC)-pf$(ECP5_PF)
	$(BIN)/elaborate --pk $(PK) --pv $(PV) --pc $(ECP5_PC) --pf $(ECP5_PF) --pd $(ECP5_PD) --clock-mhz $(CLOCK_MHZ) \
	  --ram-s-kib 0 --ram-m-kib 0 --out build/rtl-ecp5-pc$(ECP5_PC)-pf$(ECP5_PF)
	scripts/pnr-ecp5.sh build/rtl-ecp5-pc$(ECP5_PC)-pf$(ECP5_PF) build/pnr-ecp5-pc$(ECP5_PC)-pf$(ECP5_PF) $(SYNTH_TOP)

vivado-check: tools
	tclsh scripts/vivado-check.tcl

fpga-docs: build
	scripts/fpga-docs.sh $(BIN)/elaborate docs/fpga.md
