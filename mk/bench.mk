# make bench: MobileNetV2 1.0/224 on the RTL (scripts/bench.sh), bit-exact, with per-layer figures.
#   make bench                    the paper's 2304 multipliers (PC=PF=16), PD=8, 64 bytes/cycle memory, 128-byte stream
#   make bench PC=8 PF=8 PD=4     any knobs; BENCH_BANDWIDTH / BENCH_LATENCY set the memory model
# The stream (BENCH_STREAM_BYTES, default 128) is twice as wide as the memory: an external beat
# takes two cycles, but RAM-S/RAM-M beats take one, so a depthwise pass carries B/PC = 8 channel
# slices a beat instead of four, and a folded beat fills eight tap lanes instead of four. PD = 8
# (the paper has 6) lets depthwise passes use all eight: the window groups run on the PF filter
# lanes, so the multipliers stay 2304 (261,940 cycles against 267,247 at PD = 6, 332,096 at B = 64
# and 1,662,414 at B = 16).
BENCH_STREAM_BYTES ?= 128
# PD given on the command line (or in the environment) is the user's; otherwise the bench's 8.
BENCH_PD = $(if $(filter command line environment,$(origin PD)),$(PD),8)
.PHONY: bench

bench: build
	scripts/bench.sh $(BIN) "--pk $(PK) --pv $(PV) --pc $(PC) --pf $(PF) --pd $(BENCH_PD) --stream-bytes $(BENCH_STREAM_BYTES)"
