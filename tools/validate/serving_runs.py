#!/usr/bin/env python3
"""Replays the real vLLM 0.19 runs of ../shared/serving-runs/llmservingsim-vllm-0.19 with kvsim and prints, per
run, kvsim's prefix-cache hit rate and its TTFT / TPOT / E2E / queue delay beside the measured ones.

    tools/validate/serving_runs.py [--kvsim build/release/tools/kvsim] [--json OUT.json] [--profile vllm-0.19]
                                   [--cost-model '{"backend": "roofline"}']

Nothing is fitted to these runs: every run uses kvsim's default cost model (the RTX PRO 6000's shipped calibration,
fitted on its aiconfigurator kernel tables; the roofline on the RTX 4090, which has none) with the engine
settings the run's meta.json records (max_num_seqs, max_num_batched_tokens, block 16, prefix caching on, the
RTX 4090's resolved num_gpu_blocks). Measured metrics are those of summary_recomputed.csv: anchored at the
request's queued time (kvsim: its arrival), TPOT = (last - first token) / (output - 1). Tensor-parallel runs use
the run's TP; data-parallel runs with expert parallelism (Qwen3-30B-A3B: DP 2 + EP) as that many replicas behind the
least-outstanding router that form one expert-parallel group (hardware.expert_parallel = DP x TP: each GPU holds
1/ep of the experts, the ranks step in lockstep and exchange tokens by all-to-all); --no-ep replays them as
independent replicas that each hold every expert, for comparison.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNS = os.path.join(os.path.dirname(ROOT), "shared", "serving-runs", "llmservingsim-vllm-0.19")
MODELS = {"meta-llama/Llama-3.1-8B": "llama-3.1-8b", "Qwen/Qwen3-32B": "qwen3-32b",
          "Qwen/Qwen3-30B-A3B-Instruct-2507": "qwen3-30b-a3b"}
GPUS = {"RTX4090": "rtx-4090", "RTXPRO6000": "rtx-pro-6000"}
WORKLOADS = {"meta-llama/Llama-3.1-8B": "sharegpt-llama-3.1-8b-300-sps10.jsonl",
             "Qwen/Qwen3-32B": "sharegpt-qwen3-32b-300-sps10.jsonl",
             "Qwen/Qwen3-30B-A3B-Instruct-2507": "sharegpt-qwen3-32b-300-sps10.jsonl"}
METRICS = [("ttft", "ttft_s"), ("tpot", "tpot_s"), ("e2e", "e2e_s"), ("queue", "queue_s")]


def scenario(row, meta, profile, cost_model=None, ep=True):
    kw = meta["engine_kwargs"]
    engine = {"scheduler": "vllm-v1", "prefix_caching": True, "block_size": 16,
              "max_num_seqs": kw["max_num_seqs"], "max_num_batched_tokens": kw["max_num_batched_tokens"],
              "gpu_memory_utilization": meta.get("kv_cache", {}).get("gpu_memory_utilization", 0.9)}
    if kw.get("max_model_len"):
        engine["max_model_len"] = kw["max_model_len"]
    if profile != "none":
        engine["profile"] = profile
    if meta.get("kv_cache", {}).get("num_gpu_blocks"):
        engine["num_gpu_blocks"] = meta["kv_cache"]["num_gpu_blocks"]
    hardware = {"gpu": GPUS[row["gpu"]], "tensor_parallel": int(row["tp"])}
    if int(row["dp"]) > 1:
        # vLLM's data-parallel engines behind its load balancer (the least loaded engine first), with
        # --enable-expert-parallel: one expert-parallel group over all of them.
        hardware["replicas"] = int(row["dp"])
        if ep and row["ep"] == "True":
            hardware["expert_parallel"] = int(row["dp"]) * int(row["tp"])
    doc = {"model": MODELS[row["model"]], "hardware": hardware, "engine": engine,
            "workload": {"trace": {"path": os.path.join(RUNS, "workloads", WORKLOADS[row["model"]]),
                                   "format": "llmservingsim"}}}
    if cost_model:
        doc["cost_model"] = cost_model
    if int(row["dp"]) > 1:
        doc["router"] = {"policy": "least-outstanding"}
    return doc


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kvsim", default=os.path.join(ROOT, "build", "release", "tools", "kvsim"))
    ap.add_argument("--json", help="also write the table as JSON to this file")
    ap.add_argument("--profile", default="none", help="engine.profile of every run (kvsim list engine-profiles)")
    ap.add_argument("--cost-model", default="",
                    help="a cost_model section as JSON for every run, e.g. '{\"backend\": \"roofline\"}' (default: "
                         "kvsim's default, the shipped calibration of the RTX PRO 6000 and the roofline on the RTX 4090)")
    ap.add_argument("--no-ep", action="store_true",
                    help="replay data-parallel runs as independent replicas holding every expert (no expert parallelism)")
    args = ap.parse_args()
    out = []
    with open(os.path.join(RUNS, "summary_recomputed.csv")) as f, tempfile.TemporaryDirectory() as work:
        for row in csv.DictReader(f):
            name = f"{row['gpu']}/{row['model'].split('/')[-1]}"
            with open(os.path.join(RUNS, "examples", row["gpu"], row["model"].split("/")[-1], "vllm",
                                   "meta.json")) as m:
                meta = json.load(m)
            path = os.path.join(work, "s.json")
            with open(path, "w") as s:
                json.dump(scenario(row, meta, args.profile, json.loads(args.cost_model) if args.cost_model else None,
                                   not args.no_ep), s)
            subprocess.run([args.kvsim, "run", "-q", path, "--out", os.path.join(work, "run")], check=True)
            with open(os.path.join(work, "run", "results.json")) as r:
                full = json.load(r)
            res = full["summary"]
            entry = {"run": name, "backend": full["scenario"]["cost_model"]["backend"],
                     "hit_rate": res["prefix_cache"]["hit_rate"],
                     "preemptions": res["kv"]["preemptions"], "metrics": {}}
            for short, key in METRICS:
                for stat in ("mean", "p50", "p90", "p99"):
                    measured = float(row[f"{short}_ms_{stat}"]) / 1e3
                    sim = res[key][stat]
                    entry["metrics"][f"{short}_{stat}"] = {
                        "measured_s": measured, "kvsim_s": sim,
                        "error": (sim - measured) / measured if measured > 0 else None}
            out.append(entry)
    for e in out:
        if "skipped" in e:
            print(f"{e['run']:<34} skipped: {e['skipped']}")
            continue
        print(f"{e['run']:<34} {e['backend']}, kvsim prefix hit rate {100 * e['hit_rate']:.1f} %, "
              f"{e['preemptions']} preemptions")
        for short, _ in METRICS:
            cells = []
            for stat in ("mean", "p50", "p90", "p99"):
                m = e["metrics"][f"{short}_{stat}"]
                err = "" if m["error"] is None else f" ({100 * m['error']:+.0f} %)"
                cells.append(f"{stat} {m['measured_s']:.3g}/{m['kvsim_s']:.3g}{err}")
            print(f"  {short:<6} measured/kvsim s: " + ", ".join(cells))
    if args.json:
        with open(args.json, "w") as j:
            json.dump(out, j, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
