#!/usr/bin/env python3
"""Leave one GPU out: how well a calibration fitted on one GPU's measured kernel tables prices another GPU's.

    tools/validate/leave_one_gpu_out.py [--kvsim build/release/tools/kvsim] [--json OUT.json]

For each GPU with aiconfigurator tables in ../shared/gpu-data (H100 SXM, A100 SXM, RTX PRO 6000), `kvsim calibrate
--out` fits a calibration on all of its points; each other GPU's held-out points (20 %, seed 1, as `kvsim calibrate`
holds them out) are then priced with it (`--transfer`), through the target card's datasheet numbers only (peaks,
bandwidth, SMs, clock, L2; per-shape fits never leave the GPU they were measured on). Prints the median absolute
relative error per op family, with the roofline's on the same points in brackets, and the target GPU's own fit
(in-GPU, for comparison).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TABLES = os.path.join(os.path.dirname(ROOT), "shared", "gpu-data", "aiconfigurator")
# kvsim card, aiconfigurator system folder, version, label
GPUS = [("h100-sxm", "h100_sxm", "0.24.0", "H100"), ("a100-sxm-80gb", "a100_sxm", "0.14.0", "A100"),
        ("rtx-pro-6000", "rtx_pro_6000_server", "0.24.0", "RTX PRO 6000")]
FAMILIES = ["gemm", "decode_attention", "prefill_attention", "all_reduce", "moe_experts"]


def calibrate(kvsim, gpu, extra):
    card, folder, version, _ = gpu
    cmd = [kvsim, "calibrate", "--gpu", card, "--aiconfigurator", os.path.join(TABLES, folder), "--version", version]
    return subprocess.run(cmd + extra, check=True, capture_output=True, text=True).stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kvsim", default=os.path.join(ROOT, "build", "release", "tools", "kvsim"))
    ap.add_argument("--json", help="also write every figure to this file")
    args = ap.parse_args()
    if not os.path.isdir(TABLES):
        sys.exit(f"no kernel tables at {TABLES}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for gpu in GPUS:
            calibrate(args.kvsim, gpu, ["--out", os.path.join(tmp, gpu[0])])
        for target in GPUS:
            for source in GPUS:
                if source is target:
                    continue
                fit = os.path.join(tmp, source[0], "calibration.json")
                with open(fit) as f:
                    fitted = json.load(f)["families"]
                acc = json.loads(calibrate(args.kvsim, target, ["--transfer", fit, "--json"]))["accuracy"]
                by = {(a["backend"], a["family"]): a for a in acc}
                row = {"gpu": target[3], "fitted_on": source[3]}
                for fam in FAMILIES:
                    t, r, own = (by.get((b, fam)) for b in ("transferred", "roofline", "calibrated"))
                    if t is not None and fam not in fitted:  # no table there: the roofline priced it
                        row[fam] = {"transferred": None, "roofline": r["median_abs_rel_error"], "points": t["points"]}
                        continue
                    row[fam] = None if t is None else {
                        "transferred": t["median_abs_rel_error"], "roofline": r["median_abs_rel_error"],
                        "own_fit": own["median_abs_rel_error"] if own else None, "points": t["points"]}
                rows.append(row)
    print("| GPU the fit never saw | fitted on | " + " | ".join(f.replace("_", " ") for f in FAMILIES) + " |")
    print("|---|---|" + "---|" * len(FAMILIES))
    for row in rows:
        cells = []
        for fam in FAMILIES:
            c = row[fam]
            if c is None:
                cells.append("—")
            elif c["transferred"] is None:
                cells.append(f"no fit ({100 * c['roofline']:.1f})")
            else:
                cells.append(f"{100 * c['transferred']:.1f} ({100 * c['roofline']:.1f})")
        print(f"| {row['gpu']} | {row['fitted_on']} | " + " | ".join(cells) + " |")
    if args.json:
        tmp_path = args.json + ".tmp"
        with open(tmp_path, "w") as f:
            json.dump(rows, f, indent=1)
        os.replace(tmp_path, args.json)


if __name__ == "__main__":
    main()
