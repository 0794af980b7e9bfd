# make bench: MobileNetV2 1.0/224 on the RTL (scripts/bench.sh), bit-exact, with per-layer figures.
#   make bench                    the paper's knobs (PC=PF=16, PD=6), 64 bytes/cycle memory
#   make bench PC=8 PF=8 PD=4     any knobs; BENCH_BANDWIDTH / BENCH_LATENCY set the memory model
.PHONY: bench

bench: build
	scripts/bench.sh $(BIN) "$(KNOBS)"
