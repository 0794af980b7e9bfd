# HDLKit: benchmark of elaboration, emission and Verilator simulation on the 2304-multiplier array.
.PHONY: bench-hdlkit

bench-hdlkit:
	@SWIFT=$(SWIFT) MODE=$(MODE) scripts/bench-hdlkit.sh
