#!/usr/bin/env python3
"""Instructions per tile of kvsim's decode-attention kernels, read from their SASS (no GPU needed).

Compiles each kernels/decode_attention_<format>.cu for sm_90 with -DKVSIM_DECODE_STEADY_STATE (the steady-state
tile alone: no KIVI residual tokens, no accumulator rescale), disassembles it, finds the tile loop of
PagedDecodeAttentionKernel<HEAD_DIM, T, FORMAT> (the smallest loop holding all 2 * HEAD_DIM / 16 MMAs) and
prints its instruction count: what one warp issues per 16-token tile. It also prints the registers and spill
bytes ptxas reports for the real kernel (compiled without the macro). Per K/V element, the count is divided by
16 tokens * HEAD_DIM * 2 (K and V) / 32 lanes; the dequantization cost of a format is its count minus the bf16
(native) kernel's. The roofline's dequant_instructions_* defaults come from this table.

The count is static: every instruction of the loop body once, including branches not taken on the steady path
(the window/sparse cases of locating a token, a page size that is not a power of two). It compares formats and
kernel versions; it is not a cycle count.

Needs nvcc and cuobjdump with nvdisasm (CUDA toolkit; where the toolkit lacks them, the PyPI wheels
nvidia-cuda-cuobjdump and nvidia-cuda-nvdisasm carry them: set CUOBJDUMP and NVDISASM_PATH).

Usage: tools/bench/sass_hot_loop.py [--head-dim 128] [--dtype bf16] [--json]
"""
import argparse
import collections
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
FORMATS = {"native": 0, "fp8": 1, "int8": 2, "int4": 3, "int2": 4}
DTYPE_MANGLED = {"bf16": "13__nv_bfloat16", "fp16": "6__half"}
INSTR = re.compile(r"^\s*/\*([0-9a-f]{4,})\*/\s+(.*?)\s*;")
BRANCH = re.compile(r"\bBRA\b.*?0x([0-9a-f]+)")


def tool(name, env_var):
    path = os.environ.get(env_var) or shutil.which(name)
    if not path:
        sys.exit(f"sass_hot_loop: {name} not found; set {env_var} (see --help)")
    return path


def compile_kernel(nvcc, fmt, workdir, steady_state):
    """Object file of decode_attention_<fmt>.cu and ptxas's report (registers, spills)."""
    obj = workdir / f"decode_attention_{fmt}{'_steady' if steady_state else ''}.o"
    cmd = [nvcc, "-I", str(ROOT), "-O3", "-DNDEBUG", "-std=c++20", "-Xptxas=-v",
           "--generate-code=arch=compute_90,code=[sm_90]", "-x", "cu", "-c",
           str(ROOT / "kernels" / f"decode_attention_{fmt}.cu"), "-o", str(obj)]
    if steady_state:
        cmd.insert(1, "-DKVSIM_DECODE_STEADY_STATE")
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return obj, done.stderr


def registers(ptxas_report, kernel):
    """(registers, spill store bytes) of a kernel in ptxas -v output."""
    m = re.search(r"Function properties for _ZN5kvsim7kernels26" + kernel + r"\S*\n\s*\d+ bytes stack frame, (\d+) "
                  r"bytes spill stores.*?\n.*?Used (\d+) registers", ptxas_report)
    if not m:
        sys.exit(f"sass_hot_loop: no ptxas report for {kernel}")
    return int(m.group(2)), int(m.group(1))


def kernel_name(head_dim, dtype, fmt):
    return f"PagedDecodeAttentionKernelILj{head_dim}E{DTYPE_MANGLED[dtype]}LNS0_8KvFormatE{FORMATS[fmt]}EEE"


def tile_loop(sass, want, head_dim):
    """Instructions (mnemonics) of the tile loop of one kernel instantiation."""
    for body in re.split(r"\n\s*Function : ", sass)[1:]:
        if not body.split("\n", 1)[0].startswith("_ZN5kvsim7kernels26" + want):
            continue
        code = [(int(m.group(1), 16), m.group(2)) for m in map(INSTR.match, body.split("\n")) if m]
        mmas = 2 * head_dim // 16
        best = None
        for addr, text in code:
            m = BRANCH.search(text)
            if m and int(m.group(1), 16) <= addr:  # a backward branch closes a loop
                loop = [t for a, t in code if int(m.group(1), 16) <= a <= addr]
                if sum(t.startswith("HMMA") for t in loop) >= mmas and (best is None or len(loop) < len(best)):
                    best = loop
        if best is None:
            sys.exit(f"sass_hot_loop: no loop with {mmas} MMAs in {want}")
        return [re.sub(r"^@!?U?P\w+\s+", "", t).split()[0].split(".")[0] for t in best]
    sys.exit(f"sass_hot_loop: {want} not in the SASS")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--head-dim", type=int, default=128, choices=[64, 128])
    ap.add_argument("--dtype", default="bf16", choices=sorted(DTYPE_MANGLED))
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    a = ap.parse_args()
    nvcc = tool("nvcc", "NVCC")
    cuobjdump = tool("cuobjdump", "CUOBJDUMP")
    elements_per_lane = 16 * a.head_dim * 2 // 32
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in FORMATS:
            name = kernel_name(a.head_dim, a.dtype, fmt)
            obj, _ = compile_kernel(nvcc, fmt, pathlib.Path(tmp), steady_state=True)
            sass = subprocess.run([cuobjdump, "-sass", str(obj)], check=True, capture_output=True, text=True).stdout
            ops = tile_loop(sass, name, a.head_dim)
            _, report = compile_kernel(nvcc, fmt, pathlib.Path(tmp), steady_state=False)
            regs, spills = registers(report, name)
            rows[fmt] = {"instructions_per_tile": len(ops),
                         "per_element": len(ops) / elements_per_lane,
                         "registers": regs, "spill_store_bytes": spills,
                         "top_opcodes": dict(collections.Counter(ops).most_common(8))}
    base = rows["native"]["per_element"]
    for r in rows.values():
        r["dequant_per_element"] = r["per_element"] - base
    if a.json:
        print(json.dumps({"head_dim": a.head_dim, "dtype": a.dtype, "arch": "sm_90", "formats": rows}, indent=2))
        return
    print(f"decode attention tile loop, sm_90, {a.dtype}, head_dim {a.head_dim} "
          f"({elements_per_lane} K/V elements per lane per tile)")
    print("registers and spills: the real kernel (without the macro)")
    print(f"{'format':<8} {'instr/tile':>10} {'per element':>12} {'minus native':>13} {'registers':>9} {'spills':>7}"
          "  top opcodes")
    for fmt, r in rows.items():
        top = ", ".join(f"{k} {v}" for k, v in r["top_opcodes"].items())
        print(f"{fmt:<8} {r['instructions_per_tile']:>10} {r['per_element']:>12.2f} "
              f"{r['dequant_per_element']:>13.2f} {r['registers']:>9} {r['spill_store_bytes']:>5} B  {top}")


if __name__ == "__main__":
    main()
