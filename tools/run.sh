#!/usr/bin/env bash
# The README's two commands, for a fresh Debian 12 machine (as root, or with sudo):
#   tools/run.sh demo   install what is missing, build, run `kvsim demo` (writes kvsim-out/demo/report.html)
#   tools/run.sh test   install what is missing (also Chromium, clang, pandas for the tests), then
#                         1. the release build (CLI, Python module, benchmarks) and every test on it;
#                         2. the sanitize build (clang, AddressSanitizer + UBSan) and every test again on it;
#                         3. each libFuzzer target for a short while on the sanitize build (tools/fuzz.sh).
#                       Exits non-zero at the first step that fails.
# Extra arguments after `demo` go to `kvsim demo` (e.g. --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-}"
shift || true
case "$what" in
  demo) tools/setup.sh ;;
  test) tools/setup.sh --tests ;;
  *) echo "usage: tools/run.sh demo|test" >&2; exit 2 ;;
esac
jobs="$(nproc)"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
case "$what" in
  demo) exec build/release/tools/kvsim demo "$@" ;;
  test)
    ctest --preset release -j "$jobs"
    cmake --preset sanitize >/dev/null
    cmake --build --preset sanitize -j "$jobs"
    ctest --preset sanitize -j "$jobs"
    exec tools/fuzz.sh --preset sanitize --no-build --seconds "${KVSIM_FUZZ_SECONDS:-30}" --jobs "$jobs" ;;
esac
