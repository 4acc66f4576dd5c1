#!/usr/bin/env python3
"""Replays the 33 vLLM 0.15.1 runs of ../shared/serving-runs/vllm-0.15.1-inference-perf with kvsim and sets its
TTFT and E2E (mean, p90, p99, per load stage) beside the measured aggregates; prints the median absolute error over
the runs that are not overloaded.

    tools/validate/inference_perf.py [--kvsim build/release/tools/kvsim] [--seeds 5] [--profile vllm-0.15]
                                     [--cost-model '{"backend": "roofline"}'] [--runs ID,ID] [--json OUT.json]
                                     [--hardware H100-80GB-SXM] [--fit K]

The workload is regenerated as the folder's README describes inference-perf e8e0aa9: 100 prompts (10 system prompts
of S tokens x 10 questions of Q tokens; S + Q + 28 tokens each, the README's mean re-tokenisation excess), the m-th
request of a stage sending prompt m mod 100, so prompts of a group share their first floor((S + 4) / 16) blocks and
a repeat shares all of its own; N = int(rate x duration) exponential gaps rescaled to sum to the duration (the seeds
were not recorded: --seeds runs, and the mean of kvsim's statistics over them is compared); a stage starts 2.5 s
after the previous stage's last completion (found by simulating the stages before it). Every request decodes exactly
output_len tokens. The engine: the run's model, GPU, TP, max_num_batched_tokens, gpu_memory_utilization, max_num_seqs
128, max_model_len 4096, block 16, prefix caching on, the measured GPU KV blocks where known, an 8 GiB host KV tier
where the run had one, a 300 s client timeout (aiohttp's default), and --profile (vLLM 0.15's engine profile: `kvsim list engine-profiles`). Percentiles: linear interpolation on both sides (numpy's default, as
inference-perf). Nothing is fitted to these runs: every one is held out.

The cost model is kvsim's default unless --cost-model names one: the H100 and A100 runs priced by the calibrations
kvsim ships for those GPUs (fitted on their aiconfigurator kernel tables, never on these runs), the L40S runs by the
roofline.

--fit K fits the profile's time outside the engine (request_s, with output_s 0) by K-fold cross-validation over the
runs that are not overloaded: the runs are split into K folds (round robin by id); for each fold, request_s is the
least-squares fit of the other folds' relative TTFT-mean errors (kvsim's TTFT moves one for one with it), and the
fold's runs are simulated with that value; only those held-out errors are reported, with each fold's fitted value.
"""
import argparse
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNS = os.path.join(os.path.dirname(ROOT), "shared", "serving-runs", "vllm-0.15.1-inference-perf")
MODELS = {
    "meta-llama/Llama-3.1-8B-Instruct": "llama-3.1-8b",
    "meta-llama/Llama-3.1-70B-Instruct": "llama-3.1-70b",
    "Qwen/Qwen2.5-7B-Instruct": "qwen2.5-7b",
    "Qwen/Qwen3-14B": "qwen3-14b",
    "mistralai/Mistral-Nemo-Instruct-2407": "mistral-nemo-12b",
    "01-ai/Yi-34B": "yi-34b",
    "mistralai/Mixtral-8x22B-Instruct-v0.1": "mixtral-8x22b",
    "mistralai/Mixtral-8x22B-v0.1": "mixtral-8x22b",
    "RedHatAI/Llama-4-Scout-17B-16E-Instruct-FP8-dynamic": "llama-4-scout-17b-16e-fp8",
}
GPUS = {"H100-80GB-SXM": "h100-sxm", "A100-80GB": "a100-sxm-80gb", "L40S": "l40s"}
BLOCK = 16
EXCESS_TOKENS = 28  # the README's mean re-tokenisation excess
STAGE_GAP_S = 2.5   # between a stage's last completion and the next stage's start (README: 2-3 s)
METRICS = ["ttft_mean_ms", "ttft_p90_ms", "ttft_p99_ms", "e2e_mean_ms", "e2e_p90_ms", "e2e_p99_ms"]


def percentile(values, q):
    """numpy.percentile's default (linear interpolation)."""
    v = sorted(values)
    if not v:
        return float("nan")
    pos = (len(v) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def stages_of(text):
    """'8 x 600; 20 x 600' -> [(8.0, 600.0), (20.0, 600.0)]"""
    out = []
    for part in text.split(";"):
        rate, duration = part.split("x")
        out.append((float(rate), float(duration)))
    return out


def prompts(row, rng):
    """The 100 prompts: (tokens, hash ids per 16-token block)."""
    s, q = int(row["system_prompt_tokens"]), int(row["question_tokens"])
    tokens = s + q + EXCESS_TOKENS
    shared = (s + 4) // BLOCK
    blocks = -(-tokens // BLOCK)
    order = list(range(100))
    rng.shuffle(order)  # inference-perf shuffles its 100 prompts (unseeded)
    out = []
    for p in order:
        group = p // 10
        ids = [group * 1000 + b for b in range(shared)] + [100000 + p * 1000 + b for b in range(blocks - shared)]
        out.append((tokens, ids))
    return out


def stage_arrivals(rate, duration, rng):
    n = int(rate * duration)
    gaps = [rng.expovariate(rate) for _ in range(n)]
    scale = duration / sum(gaps)
    t, out = 0.0, []
    for g in gaps:
        t += g * scale
        out.append(t)
    return out


def scenario(row, trace, args, profile):
    engine = {"scheduler": "vllm-v1", "prefix_caching": True, "block_size": BLOCK, "max_num_seqs": 128,
              "max_model_len": 4096, "max_num_batched_tokens": int(row["max_num_batched_tokens"]),
              "gpu_memory_utilization": float(row["gpu_memory_utilization"])}
    if row["measured_gpu_kv_blocks"]:
        engine["num_gpu_blocks"] = int(row["measured_gpu_kv_blocks"])
    if row["kv_cpu_tier_gib"] == "8":
        engine["kv_tiers"] = {"tiers": [{"tier": "host", "capacity_GiB": 8}]}
    if profile != "none":
        engine["profile"] = profile
    doc = {"model": MODELS[row["model"]],
           "hardware": {"gpu": GPUS[row["hardware"]], "tensor_parallel": int(row["tp"])},
           "engine": engine,
           "workload": {"trace": {"path": trace, "format": "jsonl"}, "client_timeout_s": 300},
           "output": {"timeline_interval_s": 10.0}}
    if args.cost_model:
        doc["cost_model"] = json.loads(args.cost_model)
    return doc


def simulate(row, requests, work, args, profile):
    """Runs kvsim on `requests` [(arrival_s, tokens, ids, output)]; returns requests.csv rows in input order."""
    trace = os.path.join(work, "trace.jsonl")
    with open(trace, "w") as f:
        for arrival, tokens, ids, output in requests:
            f.write(json.dumps({"arrival_s": arrival, "prompt_tokens": tokens, "output_tokens": output,
                                "hash_ids": ids, "hash_block_tokens": BLOCK}) + "\n")
    path = os.path.join(work, "s.json")
    with open(path, "w") as f:
        json.dump(scenario(row, trace, args, profile), f)
    out = os.path.join(work, "run")
    subprocess.run([args.kvsim, "run", "-q", path, "--out", out], check=True)
    with open(os.path.join(out, "requests.csv")) as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["request_id"]))
    return rows


def run_once(row, seed, work, args, profile):
    """kvsim's per-stage statistics (ms) for one seed."""
    rng = random.Random(seed)
    table = prompts(row, rng)
    output = int(row["output_len"])
    requests, stage_of, start = [], [], 0.0
    stages = stages_of(row["workload_stages"])
    for k, (rate, duration) in enumerate(stages):
        arrivals = [start + t for t in stage_arrivals(rate, duration, rng)]
        for m, t in enumerate(arrivals):
            tokens, ids = table[m % 100]
            requests.append((t, tokens, ids, output))
            stage_of.append(k)
        if k + 1 < len(stages):
            # The next stage starts after this one's last completion: simulate what is known so far.
            done = simulate(row, requests, work, args, profile)
            first = requests[0][0]
            last = max(first + float(r["arrival_s"]) + float(r["e2e_s"] or 0) for r in done)
            start = last + STAGE_GAP_S
    done = simulate(row, requests, work, args, profile)
    stats = {}
    for k in range(len(stages)):
        ttft = [float(r["ttft_s"]) * 1e3 for r, s in zip(done, stage_of) if s == k and r["status"] == "completed"]
        e2e = [float(r["e2e_s"]) * 1e3 for r, s in zip(done, stage_of) if s == k and r["status"] == "completed"]
        stats[k] = {"ttft_mean_ms": statistics.fmean(ttft), "ttft_p90_ms": percentile(ttft, 90),
                    "ttft_p99_ms": percentile(ttft, 99), "e2e_mean_ms": statistics.fmean(e2e),
                    "e2e_p90_ms": percentile(e2e, 90), "e2e_p99_ms": percentile(e2e, 99)}
    return stats


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kvsim", default=os.path.join(ROOT, "build", "release", "tools", "kvsim"))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--profile", default="vllm-0.15", help="engine.profile (kvsim list engine-profiles)")
    ap.add_argument("--cost-model", default="", help="a cost_model section as JSON (default: kvsim's default)")
    ap.add_argument("--runs", default="", help="comma-separated run ids (default: all)")
    ap.add_argument("--hardware", default="", help="only the runs of this experiments.csv hardware, e.g. H100-80GB-SXM")
    ap.add_argument("--json", help="also write every number as JSON to this file")
    ap.add_argument("--fit", type=int, default=0, help="fit request_s by K-fold cross-validation (K >= 2)")
    args = ap.parse_args()
    with open(os.path.join(RUNS, "experiments.csv")) as f:
        runs = list(csv.DictReader(f))
    measured = {}
    with open(os.path.join(RUNS, "measured.csv")) as f:
        for r in csv.DictReader(f):
            measured[(r["id"], int(r["stage"]), r["metric"])] = float(r["value"])
    wanted = set(args.runs.split(",")) if args.runs else None
    runs = [row for row in runs if (not wanted or row["id"] in wanted)
            and (not args.hardware or row["hardware"] == args.hardware)]
    if args.fit:
        return cross_validate(runs, measured, args)
    results = []
    with tempfile.TemporaryDirectory() as work:
        for row in runs:
            per_seed = [run_once(row, seed, work, args, args.profile) for seed in range(1, args.seeds + 1)]
            for k in sorted(per_seed[0]):
                entry = {"run": row["id"], "stage": k, "overloaded": row["overloaded"] == "true", "metrics": {}}
                for m in METRICS:
                    kv = statistics.fmean(s[k][m] for s in per_seed)
                    spread = (min(s[k][m] for s in per_seed), max(s[k][m] for s in per_seed))
                    meas = measured.get((row["id"], k, m))
                    entry["metrics"][m] = {"measured": meas, "kvsim": kv, "kvsim_range": spread,
                                           "error": (kv - meas) / meas if meas else None}
                results.append(entry)
                cells = "  ".join(f"{m.replace('_ms', '')} {entry['metrics'][m]['measured']:.0f}/"
                                  f"{entry['metrics'][m]['kvsim']:.0f} ({100 * entry['metrics'][m]['error']:+.0f} %)"
                                  for m in ("ttft_mean_ms", "ttft_p99_ms", "e2e_mean_ms", "e2e_p99_ms"))
                flag = " [overloaded]" if entry["overloaded"] else ""
                print(f"{row['id']:<48} stage {k}  {cells}{flag}", flush=True)
    held = [e for e in results if not e["overloaded"]]
    print(f"\nmedian |error| over {len(held)} run stages (not overloaded; nothing fitted):")
    summary = {}
    for m in METRICS:
        errors = [abs(e["metrics"][m]["error"]) for e in held if e["metrics"][m]["error"] is not None]
        summary[m] = statistics.median(errors) if errors else None
        print(f"  {m:<14} {100 * summary[m]:.1f} %")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": results, "median_abs_error": summary, "seeds": args.seeds,
                       "profile": args.profile, "cost_model": args.cost_model}, f, indent=1)


def mean_stats(row, work, args, profile):
    """{stage: {metric: mean over seeds}} of kvsim for one run."""
    per_seed = [run_once(row, seed, work, args, profile) for seed in range(1, args.seeds + 1)]
    return {k: {m: statistics.fmean(s[k][m] for s in per_seed) for m in METRICS} for k in per_seed[0]}


def cross_validate(runs, measured, args):
    held = [row for row in runs if row["overloaded"] != "true"]
    folds = [held[f::args.fit] for f in range(args.fit)]
    zero = {"name": args.profile, "request_s": 0.0, "output_s": 0.0}
    errors = {m: [] for m in METRICS}
    fitted = []
    with tempfile.TemporaryDirectory() as work:
        base = {row["id"]: mean_stats(row, work, args, zero) for row in held}
        for f, fold in enumerate(folds):
            # Least squares on relative TTFT-mean errors: minimise sum(((k + x - m) / m)^2) over x.
            num = den = 0.0
            for row in held:
                if row in fold:
                    continue
                for k, stats in base[row["id"]].items():
                    m = measured.get((row["id"], k, "ttft_mean_ms"))
                    if m:
                        num += (m - stats["ttft_mean_ms"]) / m ** 2
                        den += 1.0 / m ** 2
            request_s = max(0.0, num / den / 1e3) if den else 0.0
            fitted.append(request_s)
            print(f"fold {f}: request_s {request_s * 1e3:.1f} ms fitted on {len(held) - len(fold)} runs; "
                  f"held out: {', '.join(r['id'] for r in fold)}", flush=True)
            profile = {"name": args.profile, "request_s": request_s, "output_s": 0.0}
            for row in fold:
                for k, stats in mean_stats(row, work, args, profile).items():
                    cells = []
                    for m in METRICS:
                        meas = measured.get((row["id"], k, m))
                        if meas:
                            errors[m].append((stats[m] - meas) / meas)
                            cells.append(f"{m.replace('_ms', '')} {meas:.0f}/{stats[m]:.0f} "
                                         f"({100 * (stats[m] - meas) / meas:+.0f} %)")
                    print(f"  {row['id']:<48} stage {k}  " + "  ".join(cells[i] for i in (0, 2, 3, 5)), flush=True)
    print(f"\nheld-out median |error| over {len(errors['ttft_mean_ms'])} run stages ({args.fit}-fold, request_s "
          f"fitted per fold: {', '.join(f'{x * 1e3:.1f} ms' for x in fitted)}):")
    summary = {m: statistics.median(abs(e) for e in errors[m]) for m in METRICS}
    for m in METRICS:
        print(f"  {m:<14} {100 * summary[m]:.1f} %")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"held_out_median_abs_error": summary, "fitted_request_s": fitted, "folds": args.fit,
                       "seeds": args.seeds, "profile": args.profile, "cost_model": args.cost_model}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
