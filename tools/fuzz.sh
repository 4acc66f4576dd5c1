#!/usr/bin/env bash
# Fuzzes every parser of user input (fuzz/README.md): builds the `fuzz` preset if needed (clang, libFuzzer, ASan +
# UBSan), builds the seed corpora at run time (fuzz/make_seeds.py: slices of ../shared, the repository's examples
# and tests, each target's own seeds), runs each target and prints one line per target: executions, corpus size,
# crashes (crash, sanitizer report, uncaught non-KvsimError exception, timeout, out of memory). Exits 1 if any
# target found something, 2 on a usage or build error.
#   tools/fuzz.sh --seconds 30          CI-sized: 30 s per target
#   tools/fuzz.sh --runs 10000000       the long run: 10 million inputs per target
# Options: --targets "fuzz_trace fuzz_scenario" (default: all), --jobs J (targets run at once, default 1),
#   --preset P (the CMake preset whose build/P/fuzz/ holds the targets: fuzz, default, or sanitize, which the README's
#   test command builds with the same instrumentation), --work DIR (default build/P/work: seeds/, corpus/ kept
#   between runs, artifacts/, logs/), --no-build (run the binaries as they are).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

seconds=30 runs="" targets="" jobs=1 work="" build=1 preset=fuzz
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="$2"; runs=""; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --targets) targets="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --preset) preset="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "usage: tools/fuzz.sh [--seconds N | --runs N] [--targets LIST] [--jobs J] [--preset P] [--work DIR]" \
            "[--no-build]" >&2
       exit 2 ;;
  esac
done
shared="${KVSIM_SHARED_DIR:-$repo/../shared}"
bin="$repo/build/$preset/fuzz"
work="${work:-$repo/build/$preset/work}"
all_targets="fuzz_scenario fuzz_trace fuzz_strategy_spec fuzz_engine_profile fuzz_profile fuzz_calibration
  fuzz_vidur_mlp fuzz_aiconfigurator fuzz_llm_spec fuzz_hf_config fuzz_gpu_spec fuzz_sweep"
targets="${targets:-$all_targets}"

# Build (a no-op when up to date). At most 2 compile jobs: this is also a shared 2-core machine.
if [[ $build == 1 ]]; then
  command -v clang++ >/dev/null || { echo "tools/fuzz.sh needs clang++ and libFuzzer (Debian 12: apt-get install" \
    "clang libclang-rt-14-dev)" >&2; exit 2; }
  if [[ ! -f build/$preset/build.ninja ]]; then cmake --preset "$preset" >/dev/null || exit 2; fi
  cmake --build --preset "$preset" --target fuzz_all -j "${KVSIM_FUZZ_BUILD_JOBS:-2}" >/dev/null ||
    { echo "fuzz build failed" >&2; exit 2; }
fi

# Seeds and dictionaries, rebuilt every run; the corpus of what the targets found grows between runs.
rm -rf "$work/seeds" "$work/logs" && mkdir -p "$work/seeds" "$work/corpus" "$work/artifacts" "$work/logs"
# The longest input a target is given or the mutator makes: 16 KB holds every kind of seed (a built-in calibration
# is 190 KB: make_seeds.py shrinks it), and longer inputs cost parsing time, not coverage.
max_len=16384
python3 fuzz/make_seeds.py --bin "$bin" --shared "$shared" --repo "$repo" --out "$work/seeds" --max-len "$max_len" ||
  exit 2

# The targets' sandbox files (traces, tables: written and removed for every input) and fork mode's job folders go
# to a memory file system where there is one: on this machine's ext4 a target writing tables spent most of its time
# creating and truncating inodes (fuzz_aiconfigurator: 843 inputs/s there, 2,603 on /dev/shm, 20 s each).
tmp=$(mktemp -d /dev/shm/kvsim-fuzz.XXXXXX 2>/dev/null) || { tmp="$work/tmp"; mkdir -p "$tmp"; }
trap 'rm -rf "$tmp"' EXIT
export TMPDIR="$tmp"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:report_error_type=1"
limit=(-max_total_time="$seconds")
if [[ -n "$runs" ]]; then limit=(-runs="$runs"); fi

# Runs one target in libFuzzer's fork mode, which goes on after a finding (each is saved under artifacts/), then
# runs each new finding's input once (at most 30) to group them by kind and place (fuzz/triage.py). Its summary goes
# to logs/<target>.line, the groups to logs/<target>.findings.
fuzz_one() {
  local t="$1" log="$work/logs/$1.log" repro="$work/logs/$1.repro" status=0
  mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
  touch "$work/logs/$t.start"
  local dict=()
  if [[ -s "$work/seeds/$t.dict" ]]; then dict=(-dict="$work/seeds/$t.dict"); fi
  "$bin/$t" "${limit[@]}" -max_len="$max_len" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -timeout=20 \
    -rss_limit_mb=4096 "${dict[@]}" -artifact_prefix="$work/artifacts/$t/" "$work/corpus/$t" "$work/seeds/$t" \
    >"$log" 2>&1 || status=$?
  local new=() f
  while IFS= read -r f; do new+=("$f"); done < <(find "$work/artifacts/$t" -type f -newer "$work/logs/$t.start" | sort)
  : >"$repro"
  for f in "${new[@]:0:30}"; do timeout 60 "$bin/$t" -rss_limit_mb=4096 -timeout=20 "$f" >>"$repro" 2>&1 || true; done
  python3 "$repo/fuzz/triage.py" "$repro" "$repo" >"$work/logs/$t.findings"
  local last execs corpus found="${#new[@]}"
  # The last status line; it can follow a NEW_FUNC report on the same line.
  last=$(grep -oE '#[0-9]+: cov: .*' "$log" | tail -1)
  execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
  corpus=$(grep -oE 'corp: [0-9]+' <<<"$last" | grep -oE '[0-9]+')
  if [[ $found == 0 && -z "$last" ]]; then found=1; echo "  did not run: see $log" >"$work/logs/$t.findings"; fi
  printf '%-22s execs=%-10s corpus=%-6s crashes=%s distinct=%s%s\n' "$t" "${execs:-?}" "${corpus:-?}" "$found" \
    "$(grep -c . "$work/logs/$t.findings" || true)" \
    "$([[ $found != 0 ]] && echo "  (inputs: $work/artifacts/$t/, reports: $repro)")" >"$work/logs/$t.line"
}

for t in $targets; do
  fuzz_one "$t" &
  while [[ $(jobs -rp | wc -l) -ge $jobs ]]; do wait -n || true; done
done
wait
failed=0
for t in $targets; do
  cat "$work/logs/$t.line"
  sed 's/^/    /' "$work/logs/$t.findings"
  grep -q 'crashes=0 ' "$work/logs/$t.line" || failed=1
done
exit "$failed"
