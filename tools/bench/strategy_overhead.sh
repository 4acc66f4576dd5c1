#!/usr/bin/env bash
# Instructions executed (valgrind callgrind: exact and repeatable, unlike wall time on a shared machine) by a full
# `kvsim run` of the Azure LLM 2023 conversation trace on Llama-3.1-8B / H100, per KV strategy, and the ratio to
# `full`. Issue 3's floor: no strategy above 1.30. Priced by the roofline, as every figure measured with it before
# the calibrated default (comparable across commits); KVSIM_BACKEND=calibrated prices with kvsim's H100 calibration.
#   tools/bench/strategy_overhead.sh [build/release/tools/kvsim] [strategy ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
kvsim="${1:-build/release/tools/kvsim}"
shift || true
strategies=("$@")
[[ ${#strategies[@]} -gt 0 ]] || strategies=(full fp8 kivi-2 sliding-window streaming-llm snapkv h2o quest pyramidkv
                                             mixattention character-ai xkv shadowkv infllm snapkv+kivi-2)
trace="$(cd .. && pwd)/shared/traces/azure_llm_2023/AzureLLMInferenceTrace_conv.csv"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
base=""
printf "%-16s %16s %7s\n" strategy instructions ratio
for s in "${strategies[@]}"; do
  cat > "$work/s.json" <<JSON
{"model": "llama-3.1-8b", "hardware": {"gpu": "h100-sxm"}, "kv": {"strategy": "$s"},
 "cost_model": {"backend": "${KVSIM_BACKEND:-roofline}"},
 "workload": {"trace": {"path": "$trace", "format": "azure-2023"}}}
JSON
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$kvsim" run -q "$work/s.json" --out "$work/run" \
    >/dev/null 2>&1
  ir=$(callgrind_annotate "$work/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  [[ -n "$base" ]] || base="$ir"
  printf "%-16s %16s %7.3f\n" "$s" "$ir" "$(awk -v a="$ir" -v b="$base" 'BEGIN { print a / b }')"
done
