#!/usr/bin/env python3
"""Builds the seed corpora and dictionaries of the fuzz targets (fuzz/README.md), at run time, into OUT/<target>/.

Sources: each target's own seeds (`<target> --kvsim-seeds=DIR`: registries, catalog cards, samples); small slices of
the real files under ../shared (the first lines of traces and tables, a few points of a profile), never whole files;
the JSON examples of the repository's Markdown files and the JSON / trace text in tests/ (raw string literals).
OUT/<target>.dict is a libFuzzer dictionary of the JSON keys and short strings of that target's seeds.

usage: make_seeds.py --bin BUILD/fuzz --shared ../shared --repo . --out DIR [--max-len BYTES]
"""
import argparse
import json
import pathlib
import re
import subprocess

TARGETS = ["fuzz_scenario", "fuzz_trace", "fuzz_strategy_spec", "fuzz_engine_profile", "fuzz_profile",
           "fuzz_calibration", "fuzz_vidur_mlp", "fuzz_aiconfigurator", "fuzz_llm_spec", "fuzz_hf_config",
           "fuzz_gpu_spec", "fuzz_sweep"]
MAX_SLICE = 4096  # bytes of a trace or table slice

# A scenario over the scenario target's sandbox files (fuzz/samples.h), under which Markdown fragments are merged.
BASE_SCENARIO = {"model": "llama-3.1-8b", "hardware": {"gpu": "h100-sxm"},
                 "workload": {"trace": {"path": "azure.csv", "format": "azure-2023"}, "max_requests": 20}}


def head(path, max_lines=60, max_bytes=MAX_SLICE):
    """The first lines of a text file, at most max_lines and about max_bytes."""
    out, size = [], 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if len(out) >= max_lines or (out and size + len(line) > max_bytes):
                break
            out.append(line)
            size += len(line)
    return "".join(out)


def merge(base, patch):
    """JSON merge patch (RFC 7386), as scenario variants merge."""
    if not isinstance(patch, dict):
        return patch
    out = dict(base) if isinstance(base, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge(out.get(k), v)
    return out


def json_texts(repo):
    """JSON objects written in the repository: fenced ```json blocks of *.md, raw string literals of tests/*.cc."""
    found = []
    for md in sorted(repo.rglob("*.md")):
        if "build" in md.relative_to(repo).parts:
            continue
        for block in re.findall(r"```json\n(.*?)```", md.read_text(errors="replace"), re.S):
            for text in (block, "{" + block + "}"):
                try:
                    found.append(json.loads(text))
                    break
                except ValueError:
                    pass
    for cc in sorted((repo / "tests").rglob("*.cc")):
        for raw in re.findall(r'R"\((.*?)\)"', cc.read_text(errors="replace"), re.S):
            try:
                found.append(json.loads(raw))
            except ValueError:
                pass
    return found


def raw_strings(repo, pattern):
    """Raw string literals of tests/**/*.cc matching `pattern` (trace text, mostly)."""
    out = []
    for cc in sorted((repo / "tests").rglob("*.cc")):
        out += [r for r in re.findall(r'R"\((.*?)\)"', cc.read_text(errors="replace"), re.S) if re.search(pattern, r)]
    return out


def string_literals(repo, pattern):
    """Plain "..." literals of tests/**/*.cc and the README that match `pattern` (strategy and scheduler specs)."""
    out = set()
    files = sorted((repo / "tests").rglob("*.cc")) + [repo / "README.md", repo / "sim" / "README.md"]
    for f in files:
        for s in re.findall(r'"([^"\\\n]{1,120})"', f.read_text(errors="replace")):
            if re.fullmatch(pattern, s):
                out.add(s)
        for s in re.findall(r"(?:kv\.strategy|engine\.scheduler)=([^\s`'\"]+)", f.read_text(errors="replace")):
            out.add(s)
    return sorted(out)


def shrink(doc, max_bytes):
    """The JSON document with its longest list halved (every other element kept), again and again, until it is
    written in at most max_bytes or no list has two elements. A built-in calibration (up to 190 KB, 788 fitted
    shapes of all families) keeps its schema and a few entries of each family: a seed the target reads in full,
    not one cut mid-token."""
    while len(json.dumps(doc)) > max_bytes:
        lists = []

        def walk(v):
            if isinstance(v, dict):
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                lists.append(v)
                for x in v:
                    walk(x)

        walk(doc)
        longest = max(lists, key=len, default=[])
        if len(longest) < 2:
            break
        longest[:] = longest[::2]
    return doc


def extremes(doc):
    """Copies of `doc` with one number at a time set to a boundary value (2^31 - 1, 2^63 - 1, 2^64 - 1, 1e300, -1),
    where overflow and huge allocations hide; the mutator rarely writes such values itself."""
    paths = []

    def walk(v, path):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, path + [k])
        elif isinstance(v, list):
            for i, x in enumerate(v[:4]):
                walk(x, path + [i])
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            paths.append(path)

    walk(doc, [])
    for path in paths:
        for value in (2**31 - 1, 2**63 - 1, 2**64 - 1, 1e300, -1):
            copy = json.loads(json.dumps(doc))
            node = copy
            for k in path[:-1]:
                node = node[k]
            node[path[-1]] = value
            yield copy


def dictionary(seed_dir):
    """libFuzzer dictionary entries: JSON keys and short string values of the seeds (quoted as JSON), and the words
    of CSV lines that start with a letter (headers, names in rows)."""
    words = set()

    def walk(v):
        if isinstance(v, dict):
            for k, x in v.items():
                words.add(json.dumps(k))
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, str) and len(v) <= 40:
            words.add(json.dumps(v))

    for f in sorted(seed_dir.iterdir()):
        text = f.read_bytes().decode("utf-8", errors="replace")
        for candidate in [text, text[1:]] + text.splitlines():
            try:
                walk(json.loads(candidate))
                break
            except ValueError:
                pass
        for line in text.splitlines():  # CSV headers: their column names
            if "," in line and not any(c.isdigit() for c in line.replace("_", "")[:1]):
                words.update(w.strip() for w in line.split(",") if w.strip() and not w.strip()[0].isdigit())
    # libFuzzer's syntax: one "..." per line with \" for a quote; words needing other escapes are left out.
    keep = [w for w in sorted(words) if re.fullmatch(r"[ -~]{1,64}", w) and "\\" not in w]
    return "".join('"' + w.replace('"', '\\"') + '"\n' for w in keep)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, type=pathlib.Path)
    ap.add_argument("--shared", required=True, type=pathlib.Path)
    ap.add_argument("--repo", required=True, type=pathlib.Path)
    ap.add_argument("--out", required=True, type=pathlib.Path)
    ap.add_argument("--max-len", type=int, default=16384,
                    help="bytes of the longest seed: the targets' -max_len, the longest input the mutator makes")
    a = ap.parse_args()
    shared, repo = a.shared, a.repo
    dirs = {t: a.out / t for t in TARGETS}
    for t, d in dirs.items():
        d.mkdir(parents=True, exist_ok=True)
        # -runs=0: a target without the option does nothing instead of fuzzing.
        subprocess.run([str(a.bin / t), f"--kvsim-seeds={d}", "-runs=0"], check=True, capture_output=True)
    n = 0

    def put(target, data, suffix=""):
        nonlocal n
        n += 1
        (dirs[target] / f"repo-{n}{suffix}").write_bytes(data if isinstance(data, bytes) else data.encode())

    # Scenarios, model cards, HF configs and profiles written in the repository.
    for doc in json_texts(repo):
        if not isinstance(doc, dict):
            continue
        if "architectures" in doc:
            put("fuzz_hf_config", json.dumps(doc))
        elif "num_layers" in doc:
            put("fuzz_llm_spec", json.dumps(doc))
        elif "schema" in doc and str(doc["schema"]).startswith("kvsim-profile"):
            put("fuzz_profile", json.dumps(doc))
        elif doc.keys() & {"model", "hardware", "engine", "kv", "workload", "cost_model", "slo", "metrics"}:
            put("fuzz_scenario", json.dumps(doc if "model" in doc else merge(BASE_SCENARIO, doc)))

    # Traces: the first lines of each real trace, with the byte that picks its format (fuzz_trace --kvsim-formats).
    listing = subprocess.run([str(a.bin / "fuzz_trace"), "--kvsim-formats", "-runs=0"], check=True,
                             capture_output=True, text=True).stdout
    byte = {name: int(i) for i, name in (line.split() for line in listing.splitlines() if line.strip())}
    traces = [("azure-2023", "traces/azure_llm_2023/*.csv"), ("burstgpt", "traces/burstgpt/*.csv"),
              ("mooncake", "traces/mooncake_fast25/*.jsonl"), ("vidur-csv", "traces/vidur_processed_traces/*.csv"),
              ("vidur-csv", "traces/sharegpt_sarathi/*.csv")]
    for fmt, pattern in traces:
        for f in sorted(shared.glob(pattern)):
            put("fuzz_trace", bytes([byte[fmt]]) + head(f).encode())
            put("fuzz_trace", bytes([byte["detect"] | 0x80]) + head(f, 20).encode())
    for f in sorted(shared.glob("serving-runs/llmservingsim-vllm-0.19/workloads/*.jsonl")):
        lines = []
        for line in head(f, 3, 1 << 20).splitlines():  # shortened: 24 prompt ids, 8 reply ids per request
            r = json.loads(line)
            r["input_tok_ids"], r["output_tok_ids"] = r["input_tok_ids"][:24], r["output_tok_ids"][:8]
            r["input_toks"], r["output_toks"] = len(r["input_tok_ids"]), len(r["output_tok_ids"])
            lines.append(json.dumps(r))
        put("fuzz_trace", bytes([byte["llmservingsim"]]) + ("\n".join(lines) + "\n").encode())
    for text in raw_strings(repo, r"(?m)^(\{\"|TIMESTAMP|Timestamp|arrived_at|num_prefill_tokens)"):
        put("fuzz_trace", bytes([byte["detect"]]) + text.encode())

    # Strategy and scheduler specs written in the tests and READMEs.
    for spec in string_literals(repo, r"[a-z0-9][a-z0-9.-]*(:[a-z_]+=[^,+]+(,[a-z_]+=[^,+]+)*)?(\+[a-z0-9.:=_,-]+)*"):
        if ":" in spec or "+" in spec:
            put("fuzz_strategy_spec", bytes([n % 64]) + spec.encode())

    # Profiles and tables: a few points of the repository's profile, the first rows of the shared tables.
    prof = repo / "models" / "profiles" / "h100-sxm-kvsim-kernels.json"
    if prof.exists():
        doc = json.loads(prof.read_text())
        for k, v in doc.items():
            if isinstance(v, list):
                doc[k] = v[:4]
        put("fuzz_profile", json.dumps(doc, indent=1))
    for f in sorted(shared.glob("gpu-data/vidur/data/profiling/compute/*/*/*/mlp.csv")):
        put("fuzz_vidur_mlp", head(f, 12))
    aic = shared / "gpu-data" / "aiconfigurator"
    for system in sorted(p for p in aic.glob("*") if p.is_dir()):
        for version_dir in sorted(system.glob("attention/*/*")):
            framework, version = version_dir.parent.name, version_dir.name
            tables = [version_dir / "generation_attention_perf.csv", version_dir / "context_attention_perf.csv",
                      system / "gemm" / framework / version / "gemm_perf.csv",
                      system / "moe" / framework / version / "moe_perf.csv"]
            tables.append(next(iter(sorted(system.glob("comm/nccl/*/nccl_perf.csv"))), system / "none"))
            parts = [head(t, 15, 4096).rstrip("\n") if t.exists() else "" for t in tables]
            put("fuzz_aiconfigurator", f"{framework} {version}\n" + "\n%%\n".join(parts) + "\n")
    for f in sorted(shared.rglob("config.json")):
        put("fuzz_hf_config", f.read_bytes()[:MAX_SLICE])

    # Seeds longer than the longest input the mutator makes: a JSON document is shrunk (its lists halved) to 4 KB,
    # anything else is cut after its last whole line within --max-len; libFuzzer would cut either mid-token.
    for t, d in dirs.items():
        for f in sorted(d.iterdir()):
            if f.stat().st_size > a.max_len:
                data = f.read_bytes()
                try:
                    f.write_text(json.dumps(shrink(json.loads(data), MAX_SLICE)))
                except ValueError:
                    f.write_bytes(data[:data.rfind(b"\n", 0, a.max_len) + 1] or data[:a.max_len])

    # Boundary values in the numbers of one seed of each target whose input is a JSON document: of its seeds up to
    # 4 KB, the one with the most numbers; at most 80 copies, spread over its numbers.
    for t in ["fuzz_scenario", "fuzz_sweep", "fuzz_profile", "fuzz_calibration", "fuzz_llm_spec", "fuzz_hf_config",
              "fuzz_gpu_spec"]:
        docs = []
        for f in sorted(dirs[t].iterdir()):
            if f.stat().st_size <= 4096:
                try:
                    docs.append(json.loads(f.read_text()))
                except ValueError:
                    pass
        if docs:
            copies = max((list(extremes(d)) for d in docs), key=len)
            for doc in copies[::max(1, len(copies) // 80)][:80]:
                put(t, json.dumps(doc), ".edge")
    # The same in the first line of each JSON-lines trace sample (its format byte kept).
    for f in sorted(dirs["fuzz_trace"].glob("sample-*.jsonl")):
        data = f.read_bytes()
        first, _, rest = data[1:].partition(b"\n")
        for doc in extremes(json.loads(first)):
            put("fuzz_trace", data[:1] + json.dumps(doc).encode() + b"\n" + rest, ".edge")
    for t, d in dirs.items():
        (a.out / f"{t}.dict").write_text(dictionary(d))


if __name__ == "__main__":
    main()
