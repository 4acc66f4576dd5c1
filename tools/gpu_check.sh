#!/usr/bin/env bash
# One short GPU session in one call: the kernels' GPU tests, a compute-sanitizer pass over a few of them, and the
# profiler; writes the profile JSON, the raw benchmark JSON, the test results, one log and a summary into OUT_DIR.
#
#   tools/gpu_check.sh OUT_DIR                        build here with CUDA (needs nvcc and the project's build
#                                                     dependencies), then test and profile
#   tools/gpu_check.sh --stage STAGE_DIR              build only test_kernels_gpu and kvsim-profile (no GPU needed)
#                                                     and copy them, with the shared libraries they need that a
#                                                     CUDA image may lack (libbenchmark), into STAGE_DIR
#   tools/gpu_check.sh --prebuilt STAGE_DIR OUT_DIR   test and profile with staged binaries (for a GPU machine
#                                                     that has the driver but not the build dependencies)
#
# Environment: BUILD_DIR (default build/gpu), JOBS (default nproc), KVSIM_PROFILE_ARGS (default --quick; "" runs
# the full sweep), SANITIZE_FILTER and RACECHECK_FILTER (gtest filters for the compute-sanitizer memcheck and
# racecheck passes; "" skips one), KVSIM_COMMIT (the commit the binaries were built from, recorded in the profile;
# default: this checkout's HEAD), BASELINE_STAGE (a second staged build, e.g. of the previous commit: its profiler
# runs the same decode benchmarks right after, into baseline.json, and the summary gives each benchmark's time
# ratio, so that a change is measured in one session).
# With the device tool: stage into an ignored folder (build-gpu), then run
#   KVSIM_COMMIT=<sha> tools/gpu_check.sh --prebuilt build-gpu "$OUT"      carrying build-gpu
# Exit status: 0 when the GPU tests and the sanitizer passes passed and the profile was written.
set -uo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,21p' "$0" >&2; exit 2; }
build() {
  local dir="${BUILD_DIR:-build/gpu}"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKVSIM_ENABLE_CUDA=ON || return 1
  cmake --build "$dir" -j "${JOBS:-$(nproc)}" --target test_kernels_gpu kvsim-profile || return 1
  BIN_TEST="$dir/tests/kernels/test_kernels_gpu"
  BIN_PROFILE="$dir/tools/kvsim-profile"
}

mode=run stage=""
case "${1:-}" in
  --stage) [ $# -eq 2 ] || usage; mode=stage stage="$2" ;;
  --prebuilt) [ $# -eq 3 ] || usage; mode=prebuilt stage="$2"; shift 2 ;;
  ""|-h|--help) usage ;;
esac

if [ "$mode" = stage ]; then
  build || { echo "gpu_check: build failed" >&2; exit 1; }
  mkdir -p "$stage"
  cp "$BIN_TEST" "$BIN_PROFILE" "$stage"/
  # Shared libraries outside the C runtime and libstdc++ (Google Benchmark is one on Debian).
  ldd "$BIN_PROFILE" "$BIN_TEST" | awk '/=> \// {print $3}' |
    grep -Ev '/(libc|libm|libstdc\+\+|libgcc_s|libpthread|libdl|librt)\.so' | sort -u | xargs -r -I{} cp -L {} "$stage"/
  ls -l "$stage"
  exit 0
fi

out="${1:?OUT_DIR}"
mkdir -p "$out"
log="$out/gpu_check.log"
: >"$log"
say() { echo "$@" | tee -a "$log"; }

if [ "$mode" = prebuilt ]; then
  BIN_TEST="$stage/test_kernels_gpu"
  BIN_PROFILE="$stage/kvsim-profile"
  export LD_LIBRARY_PATH="$stage${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
  say "== build"
  build >>"$log" 2>&1 || { say "gpu_check: build failed (see $log)"; exit 1; }
fi

say "== machine ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem,clocks.max.sm,temperature.gpu,power.draw \
    --format=csv 2>&1 | tee -a "$log"
fi
# The commit the binaries were built from: KVSIM_COMMIT when given (a staged build travels without its history),
# else this checkout's HEAD, marked when the tree differs from it.
if [ -z "${KVSIM_COMMIT:-}" ]; then
  KVSIM_COMMIT=$(git rev-parse HEAD 2>/dev/null)
  [ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || KVSIM_COMMIT="$KVSIM_COMMIT+uncommitted"
fi
export KVSIM_COMMIT
say "commit $KVSIM_COMMIT"

say "== GPU tests"
"$BIN_TEST" --gtest_output="json:$out/gpu_tests.json" >>"$log" 2>&1
tests_rc=$?
counts=$(grep -E '^\[  (PASSED|FAILED|SKIPPED) *\] [0-9]' "$log")
echo "$counts"
case "$counts" in  # on a GPU machine a skipped test means the device was not usable: count it as a failure
  *SKIPPED*) say "gpu_check: GPU tests were SKIPPED: no usable CUDA device"; [ "$tests_rc" -ne 0 ] || tests_rc=4 ;;
esac
say "GPU tests exit status: $tests_rc"

# sanitize TOOL FILTER: one compute-sanitizer pass over the GPU tests matching FILTER ("" skips it); a failure is
# kept in sanitize_rc.
sanitize_rc=0
sanitize() {
  local tool="$1" filter="$2" rc
  [ -n "$filter" ] && command -v compute-sanitizer >/dev/null || return 0
  say "== compute-sanitizer $tool ($filter)"
  compute-sanitizer --tool "$tool" --error-exitcode 3 "$BIN_TEST" --gtest_filter="$filter" >>"$log" 2>&1
  rc=$?
  say "$tool exit status: $rc"
  [ "$rc" -eq 0 ] || sanitize_rc=$rc
}
sanitize memcheck \
  "${SANITIZE_FILTER-*native_bf16_hd128_g4_full*:*int4_bf16_hd128_g4_full*:*window*:*AppendKvGpu*int4*:*PageCopyGpu*}"
sanitize racecheck "${RACECHECK_FILTER-*native_bf16_hd128_g8_full*:*int4_bf16_hd128_g4_full*}"

say "== profiler"
# shellcheck disable=SC2086  # KVSIM_PROFILE_ARGS is a list of flags
"$BIN_PROFILE" ${KVSIM_PROFILE_ARGS---quick} --out "$out/profile.json" --benchmark_out="$out/benchmarks.json" \
  --benchmark_out_format=json >>"$log" 2>&1
profile_rc=$?
say "profiler exit status: $profile_rc"
if [ -n "${BASELINE_STAGE:-}" ]; then
  say "== baseline profiler ($BASELINE_STAGE)"
  # shellcheck disable=SC2086
  LD_LIBRARY_PATH="$BASELINE_STAGE" "$BASELINE_STAGE/kvsim-profile" ${KVSIM_PROFILE_ARGS---quick} \
    --benchmark_filter='^(decode|device_copy)' --out "$out/baseline.json" >>"$log" 2>&1
  say "baseline profiler exit status: $?"
fi

# Summary: test outcome, copy bandwidth, and each decode benchmark's time, GB/s and fraction of the copy bandwidth.
{
  echo "GPU tests exit status: $tests_rc; sanitizers: $sanitize_rc; profiler: $profile_rc"
  if [ -f "$out/profile.json" ] && command -v python3 >/dev/null; then
    python3 - "$out/profile.json" "$out/baseline.json" <<'PY'
import json, os, sys
p = json.load(open(sys.argv[1]))
prov = p["provenance"]
base = {}
if os.path.exists(sys.argv[2]):
    base = {b["name"]: b["seconds"] for b in json.load(open(sys.argv[2]))["provenance"]["benchmarks"]}
print(f'{prov["device_name"]}: copy {prov["copy_GBps"]:.0f} GB/s (read+write), SM clock {prov["sm_clock_khz"]/1e3:.0f} MHz')
print(f'{"benchmark":86s} {"us":>9s} {"GB/s":>7s} {"copy%":>6s}' + (f' {"base/new":>8s}' if base else ''))
for b in prov["benchmarks"]:
    c = b["counters"]
    ratio = f' {base[b["name"]] / b["seconds"]:8.2f}' if b["name"] in base and b["seconds"] > 0 else ''
    print(f'{b["name"]:86s} {b["seconds"]*1e6:9.1f} {c.get("GBps", 0):7.0f} {100*c.get("copy_frac", 0):6.1f}{ratio}')
PY
  fi
} >"$out/summary.txt" 2>&1
cat "$out/summary.txt"
[ "$tests_rc" -eq 0 ] && [ "$sanitize_rc" -eq 0 ] && [ "$profile_rc" -eq 0 ]
