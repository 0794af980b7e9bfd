# Convolution engine figures (see scripts/bench-engine.sh for the knobs it reads).
.PHONY: bench-engine
bench-engine:
	@PC=$(PC) PF=$(PF) PD=$(PD) scripts/bench-engine.sh
