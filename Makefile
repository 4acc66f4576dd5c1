# The README's two commands, and a few more for developers.
#   make demo    install what is missing, build, run `kvsim demo` (writes kvsim-out/demo/)
#   make test    install what is missing, build, run every test
#   make bench   build and run the engine benchmark (needs ../shared/traces)
PRESET ?= release
BUILD_DIR := build/$(PRESET)
JOBS ?= $(shell nproc)

.PHONY: all setup setup-tests build demo test bench clean

all: build

setup:
	@tools/setup.sh

setup-tests:
	@tools/setup.sh --tests

build: setup
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET) -j $(JOBS)

demo: build
	$(BUILD_DIR)/tools/kvsim demo

test: setup-tests build
	ctest --preset $(PRESET) -j $(JOBS)

bench: build
	$(BUILD_DIR)/tools/bench_replay --benchmark_repetitions=3 --benchmark_report_aggregates_only=true

clean:
	rm -rf build
