#!/usr/bin/env python3
"""Regenerates the calibrations kvsim ships (models/specs/calibrations/<gpu>.json): for each GPU with measured
kernel tables in ../shared/gpu-data/aiconfigurator, `kvsim calibrate --out` fits the calibrated model on all of
that GPU's points, and this script adds the provenance (the tables, each file's sha256, the command, the date, the
kvsim commit). Only fitted coefficients enter the repository, never the tables.

    tools/regenerate_calibrations.py [--kvsim build/release/tools/kvsim]

Rebuild afterwards: the files are embedded into the kvsim binary.
"""
import argparse
import datetime
import hashlib
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
TABLES = os.path.join(SHARED, "gpu-data", "aiconfigurator")
OUT = os.path.join(ROOT, "models", "specs", "calibrations")
# kvsim card, aiconfigurator system folder, framework, version (the newest vLLM tables of each system)
GPUS = [("h100-sxm", "h100_sxm", "vllm", "0.24.0"), ("a100-sxm-80gb", "a100_sxm", "vllm", "0.14.0"),
        ("rtx-pro-6000", "rtx_pro_6000_server", "vllm", "0.24.0")]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kvsim", default=os.path.join(ROOT, "build", "release", "tools", "kvsim"))
    args = ap.parse_args()
    if not os.path.isdir(TABLES):
        sys.exit(f"no kernel tables at {TABLES}")
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    os.makedirs(OUT, exist_ok=True)
    for card, system, framework, version in GPUS:
        folder = os.path.join(TABLES, system)
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [args.kvsim, "calibrate", "--gpu", card, "--aiconfigurator", folder, "--framework", framework,
                   "--version", version, "--out", os.path.join(tmp, "out")]
            subprocess.run(cmd, check=True, capture_output=True)
            with open(os.path.join(tmp, "out", "calibration.json")) as f:
                cal = json.load(f)
        # The files kvsim's aiconfigurator import reads (models/profile/import_aiconfigurator.cc).
        files = {}
        wanted = [os.path.join(op, framework, version) for op in ("attention", "gemm", "moe")]
        wanted.append(os.path.join("comm", "nccl"))
        for sub in wanted:
            for dirpath, _, names in sorted(os.walk(os.path.join(folder, sub))):
                for name in sorted(names):
                    if name.endswith("_perf.csv"):
                        p = os.path.join(dirpath, name)
                        files["../shared/" + os.path.relpath(p, SHARED)] = sha256(p)
        cal["provenance"] = {
            "tables": f"aiconfigurator {system} {framework} {version} (NVIDIA aiconfigurator perf database; "
                      "../shared/gpu-data/aiconfigurator/PROVENANCE.md)",
            "files_sha256": files,
            "command": " ".join(["kvsim"] + cmd[1:-2] + ["--out", "DIR"]).replace(SHARED, "../shared"),
            "date": datetime.date.today().isoformat(),
            "kvsim_commit": commit,
            "points": "all of the GPU's points (no hold-out); held-out errors: README, Cost models",
        }
        path = os.path.join(OUT, f"{card}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(cal, f, separators=(",", ":"))
            f.write("\n")
        os.replace(path + ".tmp", path)
        print(f"{path}: {os.path.getsize(path)} bytes, {len(files)} tables")
    return 0


if __name__ == "__main__":
    sys.exit(main())
