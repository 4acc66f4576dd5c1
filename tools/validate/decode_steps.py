#!/usr/bin/env python3
"""Decode-only step times of the RTX PRO 6000 Llama-3.1-8B vLLM 0.19 run beside kvsim's price of those steps.

    tools/validate/decode_steps.py [--kvsim build/release/tools/kvsim] [--backend calibrated] [--context 1400]

The run's timeseries.csv (../shared/serving-runs/llmservingsim-vllm-0.19) gives, for each second with generated
tokens and no prompt tokens, the step time running / generation tokens per second. kvsim's price of a decode step of
that batch is the sum of `kvsim cost` over its launches (per layer the qkv, attention-output, gate/up and down GEMMs
and the decode attention at --context tokens, times 32 layers, plus the lm_head GEMM) plus the 1 ms step overhead of
cost_model.iteration_overhead_s. Norms, rotary embedding and sampling are not priced by kvsim.
"""
import argparse
import csv
import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN = os.path.join(os.path.dirname(ROOT), "shared", "serving-runs", "llmservingsim-vllm-0.19", "examples",
                   "RTXPRO6000", "Llama-3.1-8B", "vllm", "timeseries.csv")
LAYERS, OVERHEAD_S = 32, 1e-3
GEMMS = [(6144, 4096), (4096, 4096), (28672, 4096), (4096, 14336)]  # qkv, attention out, gate/up, down (n, k)
LM_HEAD = (128256, 4096)


def cost(args, *flags):
    cmd = [args.kvsim, "cost", "--gpu", "rtx-pro-6000", "--backend", args.backend, "--json", *flags]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)["seconds"]


def step_s(args, batch):
    layer = sum(cost(args, "--op", "gemm", "--m", str(batch), "--n", str(n), "--k", str(k)) for n, k in GEMMS)
    layer += cost(args, "--op", "decode-attention", "--batch", str(batch), "--kv-len", str(args.context),
                  "--q-heads", "32", "--kv-heads", "8", "--head-dim", "128", "--kv-dtype", "bf16")
    lm = cost(args, "--op", "gemm", "--m", str(batch), "--n", str(LM_HEAD[0]), "--k", str(LM_HEAD[1]))
    return LAYERS * layer + lm + OVERHEAD_S


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kvsim", default=os.path.join(ROOT, "build", "release", "tools", "kvsim"))
    ap.add_argument("--backend", default="calibrated", help="cost-model backend (calibrated: kvsim's shipped fit)")
    ap.add_argument("--context", type=int, default=1400, help="tokens of context per sequence")
    args = ap.parse_args()
    with open(RUN) as f:
        for row in csv.DictReader(f):
            running, gen = float(row["running"]), float(row["gen_throughput"])
            if float(row["prompt_throughput"]) != 0 or gen <= 0 or running < 8:
                continue
            measured = running / gen
            print(f"t {float(row['t']):5.0f} s  {running:4.0f} sequences  measured {1e3 * measured:5.1f} ms  "
                  f"kvsim {1e3 * step_s(args, int(running)):5.1f} ms")


if __name__ == "__main__":
    main()
