# The Verilator harness of the whole accelerator (sim/, docs/control.md): ./Vtop plays the host and
# the DataMover around AcceleratorTop and runs a `dsc compile` folder bit-exactly.
#
#   make verilate                 elaborate rtl/ (knobs PK PV PC PF PD), compile the default network
#                                 into build/default, build ./Vtop (objects in build/vtop/obj)
#   make verilate TRACE=1         the same with FST waves (./Vtop --fst w.fst --from C --to C)
#   make test-harness             the harness's self-test against the stand-in top in sim/test
TRACE        ?= 0
VTOP_NETWORK ?= dscnn

.PHONY: verilate test-harness

verilate: elaborate
	@if $(BIN)/dsc compile --help 2>&1 | grep -q -- '--builtin'; then \
	  echo "$(BIN)/dsc compile --builtin $(VTOP_NETWORK) --config $(RTL)/config.json --out build/default"; \
	  $(BIN)/dsc compile --builtin $(VTOP_NETWORK) --config $(RTL)/config.json --out build/default; \
	else \
	  echo "verilate: this dsc has no 'compile --builtin' yet, so build/default is not written; ./Vtop DIR runs any compiled folder"; \
	fi
	TRACE=$(TRACE) scripts/build-vtop.sh $(RTL) build/vtop
	cp build/vtop/Vtop Vtop

test-harness:
	scripts/test-harness.sh
