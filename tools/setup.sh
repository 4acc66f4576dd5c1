#!/usr/bin/env bash
# Installs what kvsim needs to build and test on Debian 12, only what is missing (apt-get, as root or via sudo).
#   tools/setup.sh            build dependencies (compiler, CMake, libraries, Chart.js for reports, pybind11 for the
#                             Python module)
#   tools/setup.sh --tests    also what the test suite uses (Chromium for the browser test of the report, pandas for
#                             the Python module's DataFrame, clang and its sanitizer and libFuzzer runtimes for the
#                             sanitize build and the fuzz targets)
set -euo pipefail

packages=(g++ cmake ninja-build make nlohmann-json3-dev libfmt-dev libcli11-dev libgtest-dev libgmock-dev
          libbenchmark-dev libeigen3-dev libjs-chart.js libboost-graph-dev libopenmpi-dev openmpi-bin libssl-dev
          python3-dev pybind11-dev pybind11-json-dev)
if [[ "${1:-}" == "--tests" ]]; then
  packages+=(chromium python3-pandas clang libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "kvsim setup: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "kvsim setup: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
