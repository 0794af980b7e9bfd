# make bench: MobileNetV2 1.0/224 on the RTL (scripts/bench.sh), bit-exact, with per-layer figures.
#   make bench                    the paper's 2304 multipliers (PC=PF=16), PD=9, 64 bytes/cycle memory, 256-byte stream
#   make bench PC=8 PF=8 PD=4     any knobs; BENCH_BANDWIDTH / BENCH_LATENCY set the memory model
# The stream (BENCH_STREAM_BYTES, default 256) is four times as wide as the memory: an external beat
# takes four cycles, but RAM-S/RAM-M beats take one, so a depthwise pass carries min(PD, B/PC, PV)
# = 9 channel slices a beat instead of four at B = 64, and a folded beat fills all nine tap lanes.
# PD = 9 (the paper has 6) lets depthwise passes use all nine: the window groups run on the PF
# filter lanes, so the multipliers stay 2304 (218,988 cycles; 248,630 at B = 128 and PD = 8,
# 253,896 at PD = 6, 328,337 at B = 64).
BENCH_STREAM_BYTES ?= 256
# The weight buffer, in words of PK·PC·PF weights: 256 (576 KiB at PC = PF = 16) holds what FC
# would otherwise wait for at the memory's pace.
BENCH_WEIGHT_BUFFER ?= 256
# PD given on the command line (or in the environment) is the user's; otherwise the bench's 9.
BENCH_PD = $(if $(filter command line environment,$(origin PD)),$(PD),9)
.PHONY: bench

bench: build
	scripts/bench.sh $(BIN) "--pk $(PK) --pv $(PV) --pc $(PC) --pf $(PF) --pd $(BENCH_PD) --stream-bytes $(BENCH_STREAM_BYTES) --weight-buffer-depth $(BENCH_WEIGHT_BUFFER)"
