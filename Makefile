# Shortcuts for developers; the README's two commands are `tools/run.sh demo` and `tools/run.sh test`
# (they need no `make`, which a fresh Debian 12 may not have).
.PHONY: demo test bench build clean
demo:
	tools/run.sh demo
test:
	tools/run.sh test
build:
	tools/setup.sh && cmake --preset release >/dev/null && cmake --build --preset release -j $$(nproc)
bench: build
	build/release/tools/bench_replay --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
clean:
	rm -rf build
