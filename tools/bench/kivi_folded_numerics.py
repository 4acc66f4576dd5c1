#!/usr/bin/env python3
"""Error of KIVI key scores with the scales folded into q, against the per-value decode (no GPU, no numpy).

Models the arithmetic of the two ways the decode kernel can compute q.k for 4-bit keys quantized per channel over a
16-token page (k = s_d c + z_d, s and z stored in fp16):
  per value  k16 = fp16(s_d c + z_d) for each value, then an f32 dot product with the fp16 q;
  folded     u = fp16(q_d s_d) once per page; the MMA sums u_d (off_d + c_d) in f32 over k-steps of 16 channels
             (off_d = 1024 or 64, the magic-number offsets of low and high nibbles), and a bias
             sum_d q_d z_d - sum_d off_d u_d, also in f32, is added (kernels/kivi_keys.cuh on wip/kivi-lean).
Both are compared with the exact (float64) score of the dequantized keys; errors are relative to |k| |q| of the
page's largest key. f32 sums are rounded after each addition, in k-step order (the tensor cores' order within a
k-step differs; this is a model of the magnitudes, not of the hardware's rounding).

Usage: tools/bench/kivi_folded_numerics.py [--trials 300] [--seed 1]
"""
import argparse
import math
import random
import struct


def f16(x):
    return struct.unpack("e", struct.pack("e", x))[0]


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def one_page(rng, dims=128, tokens=16):
    q_scale = rng.choice([0.3, 3.0, 30.0])
    x_scale = rng.choice([0.5, 5.0])
    q = [f16(rng.gauss(0, q_scale)) for _ in range(dims)]
    x = [[rng.gauss(0, x_scale) for _ in range(dims)] for _ in range(tokens)]
    s, z = [], []
    for d in range(dims):
        lo, hi = min(r[d] for r in x), max(r[d] for r in x)
        s.append(f16(max((hi - lo) / 15, 1e-4)))
        z.append(f16(lo))
    codes = [[min(15, max(0, round((r[d] - z[d]) / s[d]))) for d in range(dims)] for r in x]
    off = [1024.0 if d % 2 == 0 else 64.0 for d in range(dims)]
    u = [f16(q[d] * s[d]) for d in range(dims)]
    bias = 0.0
    for j in range(0, dims, 16):
        step = 0.0
        for d in range(j, j + 16):
            step = f32(step + q[d] * z[d])
        for d in range(j, j + 16):
            step = f32(step - off[d] * u[d])
        bias = f32(bias + step)
    worst_folded = worst_value = 0.0
    norm_k = 0.0
    for c in codes:
        k = [c[d] * s[d] + z[d] for d in range(dims)]
        norm_k = max(norm_k, math.sqrt(sum(v * v for v in k)))
        exact = sum(k[d] * q[d] for d in range(dims))
        main = 0.0
        for j in range(0, dims, 16):
            step = 0.0
            for d in range(j, j + 16):
                step = f32(step + u[d] * (off[d] + c[d]))
            main = f32(main + step)
        folded = f32(main + bias)
        per_value = 0.0
        for d in range(dims):
            per_value = f32(per_value + f16(c[d] * s[d] + z[d]) * q[d])
        worst_folded = max(worst_folded, abs(folded - exact))
        worst_value = max(worst_value, abs(per_value - exact))
    norm = norm_k * math.sqrt(sum(v * v for v in q))
    return worst_folded / norm, worst_value / norm


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    folded, value = zip(*(one_page(rng) for _ in range(a.trials)))
    med = lambda v: sorted(v)[len(v) // 2]
    print(f"{a.trials} pages of 16 tokens x 128 channels; score error / (|k| |q|)")
    print(f"folded scales   median {med(folded):.2e}  max {max(folded):.2e}")
    print(f"per-value       median {med(value):.2e}  max {max(value):.2e}")


if __name__ == "__main__":
    main()
