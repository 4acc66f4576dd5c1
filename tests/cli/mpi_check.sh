#!/usr/bin/env bash
# MPI test of kvsim sweep, plan and capacity: the same sweep run on one thread and on `mpirun -np 2` (rank 0 hands
# points to rank 1) gives the same sweep.csv byte for byte, a plan the same plan.json (wall time aside), and a
# capacity search on 2 threads and on `mpirun -np 3` (2 worker ranks) the same capacity.json (counts of work aside).
#   mpi_check.sh KVSIM MPIEXEC AZURE_TRACE WORK_DIR
set -euo pipefail
kvsim=$1 mpiexec=$2 trace=$3 work=$4
rm -rf "$work"
mkdir -p "$work"
cd "$work"
# Open MPI refuses root without these (CI machines and containers run as root).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
cat > base.json <<JSON
{"model": "llama-3.1-8b", "hardware": {"gpu": "h100-sxm"}, "slo": {"ttft_p99_s": 2, "tpot_p99_s": 0.05},
 "workload": {"trace": {"path": "$trace", "format": "azure-2023"}, "max_requests": 300}}
JSON
cat > sweep.json <<'JSON'
{"scenario": "base.json", "grid": {"engine.max_num_seqs": [16, 64], "kv.strategy": ["full", "fp8", "kivi-2"]}}
JSON
cat > plan.json <<'JSON'
{"scenario": "base.json", "max_gpus": 2,
 "grid": {"hardware.tensor_parallel": [1, 2, 3], "hardware.replicas": [1, 2], "kv.strategy": ["full", "fp8"]}}
JSON
"$kvsim" sweep --quiet sweep.json --jobs 1 --out threads
timeout 300 "$mpiexec" -np 2 "$kvsim" sweep --quiet sweep.json --out ranks
cmp threads/sweep.csv ranks/sweep.csv || { echo "FAIL: sweep.csv differs between 1 thread and 2 MPI ranks" >&2; exit 1; }
"$kvsim" plan --quiet plan.json --jobs 1 --out plan-threads
timeout 300 "$mpiexec" -np 2 "$kvsim" plan --quiet plan.json --out plan-ranks
strip() { grep -v '"wall_time_s"' "$1"; }
if ! diff <(strip plan-threads/plan.json) <(strip plan-ranks/plan.json) >/dev/null; then
  echo "FAIL: plan.json differs between 1 thread and 2 MPI ranks" >&2
  exit 1
fi
"$kvsim" capacity --quiet base.json --tolerance 0.05 --jobs 2 --out capacity-threads
timeout 300 "$mpiexec" -np 3 "$kvsim" capacity --quiet base.json --tolerance 0.05 --out capacity-ranks
strip_work() { grep -v '"wall_time_s"\|"simulations"\|"workers"' "$1"; }
if ! diff <(strip_work capacity-threads/capacity.json) <(strip_work capacity-ranks/capacity.json) >/dev/null; then
  echo "FAIL: capacity.json differs between 2 threads and 2 MPI worker ranks" >&2
  exit 1
fi
echo "mpi check passed: $(($(wc -l < ranks/sweep.csv) - 1)) sweep points, the plan and the capacity search agree"
