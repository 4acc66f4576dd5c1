#!/usr/bin/env bash
# The README's two commands, for a fresh Debian 12 machine (as root, or with sudo):
#   tools/run.sh demo   install what is missing, build, run `kvsim demo` (writes kvsim-out/demo/report.html)
#   tools/run.sh test   install what is missing (also Chromium for the browser test), build, run every test
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
  test) exec ctest --preset release -j "$jobs" ;;
esac
