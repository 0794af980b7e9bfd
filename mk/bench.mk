# make bench: MobileNetV2 1.0/224 on the RTL (scripts/bench.sh), bit-exact, with per-layer figures.
#   make bench                    the paper's knobs (PC=PF=16, PD=6), 64 bytes/cycle memory, 128-byte stream
#   make bench PC=8 PF=8 PD=4     any knobs; BENCH_BANDWIDTH / BENCH_LATENCY set the memory model
# The stream (BENCH_STREAM_BYTES, default 128) is twice as wide as the memory: an external beat
# takes two cycles, but RAM-S/RAM-M beats take one, so a depthwise pass carries six channel slices
# a beat (PD = 6) instead of four, and a folded beat fills eight tap lanes instead of four (273,533
# cycles against 337,817 at B = 64 and 1,694,328 at B = 16).
BENCH_STREAM_BYTES ?= 128
.PHONY: bench

bench: build
	scripts/bench.sh $(BIN) "$(KNOBS) --stream-bytes $(BENCH_STREAM_BYTES)"
