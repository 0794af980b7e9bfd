# make bench: MobileNetV2 1.0/224 on the RTL (scripts/bench.sh), bit-exact, with per-layer figures.
#   make bench                    the paper's knobs (PC=PF=16, PD=6), 64 bytes/cycle memory, 64-byte stream
#   make bench PC=8 PF=8 PD=4     any knobs; BENCH_BANDWIDTH / BENCH_LATENCY set the memory model
# The stream is as wide as the memory (BENCH_STREAM_BYTES, default 64): weight sets and parameter
# records then move 64 bytes per beat instead of 16 (1,887,277 cycles against 2,071,800 at B=16).
BENCH_STREAM_BYTES ?= 64
.PHONY: bench

bench: build
	scripts/bench.sh $(BIN) "$(KNOBS) --stream-bytes $(BENCH_STREAM_BYTES)"
