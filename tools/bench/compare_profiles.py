#!/usr/bin/env python3
"""Side-by-side times of the benchmarks in several kvsim-profile JSON files (kvsim-profile --out), measured in one
GPU session: one row per benchmark, one column per file (microseconds), then each file's time ratio to the first.

    tools/bench/compare_profiles.py base.json new.json [more.json ...] [--filter SUBSTRING]
"""
import argparse
import json
import sys


def load(path):
    with open(path) as f:
        prov = json.load(f)["provenance"]
    return {b["name"]: b for b in prov["benchmarks"]}, prov


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("profiles", nargs="+", help="kvsim-profile JSON files; ratios are to the first")
    ap.add_argument("--filter", default="", help="only benchmarks whose name contains this")
    args = ap.parse_args()
    runs = []
    for path in args.profiles:
        try:
            runs.append(load(path))
        except (OSError, ValueError, KeyError) as e:
            sys.exit(f"compare_profiles: {path}: not a kvsim-profile JSON ({e})")
    first = runs[0][0]
    names = [n for n in first if args.filter in n]
    labels = [p.rsplit("/", 1)[-1] for p in args.profiles]
    print(f"{'benchmark':80s}" + "".join(f" {lab[:10]:>10s}" for lab in labels) +
          "".join(f" {'x ' + lab[:8]:>10s}" for lab in labels[1:]) + f" {'copy%':>6s}")
    for n in names:
        times = [r[0][n]["seconds"] * 1e6 if n in r[0] else float("nan") for r in runs]
        ratios = [times[0] / t if t == t and t > 0 else float("nan") for t in times[1:]]
        best = min((r[0][n] for r in runs if n in r[0]), key=lambda b: b["seconds"])
        copy = 100 * best["counters"].get("copy_frac", 0)
        print(f"{n:80s}" + "".join(f" {t:10.1f}" for t in times) + "".join(f" {x:10.2f}" for x in ratios) +
              f" {copy:6.1f}")


if __name__ == "__main__":
    main()
