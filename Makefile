# One Makefile for the whole flow. `make run` is the main job, `make test` runs every test.
# Knobs are passed straight to `elaborate`, which validates them in one place.
SWIFT    ?= swift
MODE     ?= release
RTL      ?= rtl
# `PC` is one of make's built-in variables (the Pascal compiler), so `?=` would keep "pc":
# each knob takes its default unless the user set it.
$(foreach k,PK=9 PV=9 PC=16 PF=16 PD=6,$(if $(filter default undefined,$(origin $(word 1,$(subst =, ,$(k))))),$(eval $(k))))
KNOBS    = --pk $(PK) --pv $(PV) --pc $(PC) --pf $(PF) --pd $(PD)
BIN      = .build/$(MODE)

.PHONY: all run tools build test elaborate lint clean

all: run

tools:
	@scripts/install-tools.sh

build: tools
	$(SWIFT) build -c $(MODE)

# Main job: elaborate the accelerator for the chosen knobs and lint every emitted file.
run: build
	$(BIN)/elaborate $(KNOBS) --out $(RTL)
	@$(MAKE) --no-print-directory lint RTL=$(RTL)

elaborate: build
	$(BIN)/elaborate $(KNOBS) --out $(RTL)

lint:
	@scripts/lint-rtl.sh $(RTL)

# Every test: Swift unit tests, Verilator/Icarus co-simulation of generated hardware, golden models,
# then the command-line front ends as a user meets them.
test: build
	$(SWIFT) test -c $(MODE)
	scripts/test-cli.sh $(BIN)
	scripts/test-harness.sh

clean:
	rm -rf .build obj_dir build synth $(RTL)/*.v $(RTL)/config.json

# Feature areas add their targets here (synth, bench, verilate, ...).
-include mk/*.mk
