"""The Python module (`import kvsim`) against the CLI: the same scenario, kv-size and cost questions give the same
documents, the requests match requests.csv, and bad input raises kvsim.Error with the CLI's message.

Run by CTest (tests/python/CMakeLists.txt) with PYTHONPATH at the built module and KVSIM_BIN, KVSIM_SHARED_DIR and
KVSIM_SCRATCH in the environment."""
import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path

import kvsim

BIN = os.environ["KVSIM_BIN"]
SHARED = Path(os.environ["KVSIM_SHARED_DIR"])
SCRATCH = Path(os.environ["KVSIM_SCRATCH"])
AZURE = SHARED / "traces" / "azure_llm_2023" / "AzureLLMInferenceTrace_conv.csv"


def cli(*args):
    """Runs the kvsim binary; returns (exit code, stdout, stderr)."""
    p = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, check=False)
    return p.returncode, p.stdout, p.stderr


def cli_run(scenario_file, out):
    shutil.rmtree(out, ignore_errors=True)
    code, _, err = cli("run", "--quiet", scenario_file, "--out", out)
    assert code == 0, err
    with open(out / "results.json", encoding="utf-8") as f:
        results = json.load(f)
    with open(out / "requests.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return results, rows


def without_wall_time(results):
    r = json.loads(json.dumps(results))
    del r["summary"]["wall_time_s"]
    return r


def same_cell(csv_text, value):
    """requests.csv writes each number in the shortest form that reads back to it, None as an empty field."""
    if value is None:
        return csv_text == ""
    if isinstance(value, str):
        return csv_text == value
    if isinstance(value, int):
        return int(csv_text) == value
    return float(csv_text) == value or (math.isnan(value) and csv_text == "nan")


def scenario(trace, **workload):
    return {"model": "llama-3.1-8b", "hardware": {"gpu": "h100-sxm"},
            "workload": {"trace": {"path": str(trace), "format": "azure-2023"}, **workload}}


class Run(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        SCRATCH.mkdir(parents=True, exist_ok=True)
        # A relative trace path: the CLI resolves it against the scenario file's folder, and so must kvsim.run.
        (SCRATCH / "trace.csv").write_bytes(AZURE.read_bytes())
        cls.doc = scenario("trace.csv", max_requests=400)
        cls.doc["engine"] = {"prefix_caching": True}
        cls.file = SCRATCH / "py-run.json"
        cls.file.write_text(json.dumps(cls.doc), encoding="utf-8")
        cls.cli_results, cls.cli_rows = cli_run(cls.file, SCRATCH / "py-run-out")

    def test_results_equal_the_clis_results_json(self):
        results = kvsim.run(self.doc, base_dir=str(SCRATCH))
        self.assertGreater(results["summary"]["requests"]["completed"], 0)
        self.assertEqual(results["summary"]["requests"]["arrived"], 400)
        # Byte for byte on the summary: the same values dump to the same text (wall time is the one field that is
        # measured, not simulated).
        self.assertEqual(json.dumps(without_wall_time(results)["summary"], indent=2, sort_keys=True),
                         json.dumps(without_wall_time(self.cli_results)["summary"], indent=2, sort_keys=True))
        self.assertEqual(without_wall_time(results), without_wall_time(self.cli_results))

    def test_a_scenario_file_resolves_paths_against_its_folder(self):
        results = kvsim.run(self.file)
        self.assertEqual(without_wall_time(results), without_wall_time(self.cli_results))
        results = kvsim.run(Path(self.file))  # os.PathLike
        self.assertEqual(results["summary"]["requests"], self.cli_results["summary"]["requests"])

    def test_requests_as_a_list_of_dicts_match_requests_csv(self):
        results, rows = kvsim.run(self.doc, base_dir=str(SCRATCH), requests=True, as_frame=False)
        self.assertIsInstance(rows, list)
        self.assertEqual(len(rows), len(self.cli_rows))
        self.assertEqual(len(rows), results["summary"]["requests"]["arrived"])
        self.assertEqual(list(rows[0].keys()), list(self.cli_rows[0].keys()))
        for mine, theirs in zip(rows, self.cli_rows):
            for column, text in theirs.items():
                self.assertTrue(same_cell(text, mine[column]), (column, text, mine[column]))

    def test_requests_as_a_dataframe_when_pandas_is_installed(self):
        try:
            import pandas  # noqa: F401  (Debian: python3-pandas, installed by tools/setup.sh --tests)
        except ImportError:
            self.skipTest("pandas is not installed")
        _, frame = kvsim.run(self.doc, base_dir=str(SCRATCH), requests=True)
        self.assertEqual(list(frame.columns), list(self.cli_rows[0].keys()))
        self.assertEqual(len(frame), len(self.cli_rows))
        self.assertEqual(int((frame["status"] == "completed").sum()),
                         self.cli_results["summary"]["requests"]["completed"])
        self.assertAlmostEqual(float(frame["ttft_s"].mean()), self.cli_results["summary"]["ttft_s"]["mean"],
                               places=9)

    def test_a_cluster_and_classes_add_their_columns(self):
        doc = scenario(AZURE, max_requests=200,
                       classes=[{"name": "chat", "share": 0.5}, {"name": "batch", "share": 0.5}])
        doc["hardware"]["replicas"] = 2
        file = SCRATCH / "py-cluster.json"
        file.write_text(json.dumps(doc), encoding="utf-8")
        cli_results, cli_rows = cli_run(file, SCRATCH / "py-cluster-out")
        results, rows = kvsim.run(doc, requests=True, as_frame=False)
        self.assertEqual(without_wall_time(results)["summary"], without_wall_time(cli_results)["summary"])
        self.assertEqual(list(rows[0].keys())[-3:], ["replica", "transfer_s", "class"])
        self.assertEqual([r["class"] for r in rows], [r["class"] for r in cli_rows])
        self.assertEqual([r["replica"] for r in rows], [int(r["replica"]) for r in cli_rows])

    def test_variants_are_chosen_by_name(self):
        doc = dict(self.doc, variants=[{"name": "fp8", "kv": {"strategy": "fp8"}}, {"name": "full"}])
        with self.assertRaisesRegex(kvsim.Error, r"the scenario has variants \(fp8, full\).*variant=NAME"):
            kvsim.run(doc, base_dir=str(SCRATCH))
        fp8 = kvsim.run(doc, base_dir=str(SCRATCH), variant="fp8")
        self.assertIn("fp8", json.dumps(fp8["scenario"]["kv"]))
        with self.assertRaisesRegex(kvsim.Error, "no variants"):
            kvsim.run(self.doc, base_dir=str(SCRATCH), variant="fp8")

    def test_bad_input_raises_kvsim_error_with_the_clis_message(self):
        doc = json.loads(json.dumps(self.doc))
        doc["engine"]["block_size"] = 2**40
        with self.assertRaises(kvsim.Error) as caught:
            kvsim.run(doc, base_dir=str(SCRATCH))
        bad = SCRATCH / "py-bad.json"
        bad.write_text(json.dumps(doc), encoding="utf-8")
        code, _, err = cli("run", "--quiet", bad, "--out", SCRATCH / "py-bad-out")
        self.assertEqual(code, 1)
        self.assertIn(str(caught.exception), err)
        self.assertIn("engine.block_size", str(caught.exception))
        self.assertTrue(issubclass(kvsim.Error, ValueError))
        with self.assertRaisesRegex(kvsim.Error, "no-such.csv"):
            kvsim.run(scenario(SCRATCH / "no-such.csv"))
        with self.assertRaisesRegex(TypeError, "scenario"):
            kvsim.run(dict(self.doc, seed={1, 2}))
        with self.assertRaisesRegex(TypeError, "scenario"):
            kvsim.run(42)


class Interrupt(unittest.TestCase):
    def test_ctrl_c_stops_a_long_run_with_keyboard_interrupt(self):
        # Twenty million requests take a minute or more; SIGINT a second in must end the call, not the interpreter.
        script = (
            "import sys, kvsim\n"
            "doc = {'model': 'llama-3.1-8b', 'hardware': {'gpu': 'h100-sxm'}, 'workload': {'synthetic': {\n"
            "  'num_requests': 20000000, 'arrival': {'process': 'poisson', 'rate_per_s': 50},\n"
            "  'prompt_tokens': {'dist': 'fixed', 'value': 500}, 'output_tokens': {'dist': 'fixed', 'value': 100}}}}\n"
            "print('started', flush=True)\n"
            "try:\n"
            "    kvsim.run(doc)\n"
            "except KeyboardInterrupt:\n"
            "    print('interrupted', flush=True)\n"
            "    sys.exit(7)\n")
        p = subprocess.Popen([sys.executable, "-s", "-c", script], stdout=subprocess.PIPE, text=True)
        self.assertEqual(p.stdout.readline().strip(), "started")
        time.sleep(1.0)
        p.send_signal(signal.SIGINT)
        sent = time.monotonic()
        out, _ = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 7, out)
        self.assertIn("interrupted", out)
        # Python alone would raise it only once the run returned (tens of seconds); kvsim polls the handlers.
        self.assertLess(time.monotonic() - sent, 10)


class KvSizeAndCost(unittest.TestCase):
    def test_kv_size_equals_the_clis_json(self):
        mine = kvsim.kv_size(model="llama-3.1-8b", context=32768, gpu="h100-sxm", strategy="snapkv+kivi-2",
                             tensor_parallel=2, chunked_prefill=False, max_num_batched_tokens=32768)
        code, out, err = cli("kv-size", "--model", "llama-3.1-8b", "--context", 32768, "--gpu", "h100-sxm",
                             "--strategy", "snapkv+kivi-2", "--tp", 2, "--no-chunked-prefill",
                             "--max-num-batched-tokens", 32768, "--json")
        self.assertEqual(code, 0, err)
        self.assertEqual(mine, json.loads(out))
        self.assertGreater(mine["max_concurrent_requests"], 0)

    def test_kv_size_checks_its_keywords(self):
        with self.assertRaisesRegex(kvsim.Error, "kvsim.kv_size.context"):
            kvsim.kv_size(model="llama-3.1-8b", context=2**63 - 1)
        with self.assertRaisesRegex(kvsim.Error, "context"):
            kvsim.kv_size(model="llama-3.1-8b", context=1000.0)  # an integer, written as one
        with self.assertRaisesRegex(kvsim.Error, "gpu_memory_utilization"):
            kvsim.kv_size(model="llama-3.1-8b", context=100, gpu="h100-sxm", gpu_memory_utilization=float("nan"))
        with self.assertRaisesRegex(kvsim.Error, "contxt"):
            kvsim.kv_size(model="llama-3.1-8b", context=100, contxt=5)
        with self.assertRaisesRegex(kvsim.Error, "tensor_parallel: must divide"):
            kvsim.kv_size(model="llama-3.1-8b", context=100, tensor_parallel=3)
        with self.assertRaisesRegex(kvsim.Error, "chunked_prefill: the 20000-token prompt"):
            kvsim.kv_size(model="llama-3.1-8b", context=20000, chunked_prefill=False)

    def test_cost_equals_the_clis_json(self):
        for kw, flags in [
            (dict(op="decode-attention", batch=64, kv_len=32768, kv_dtype="fp8"),
             ["--op", "decode-attention", "--batch", 64, "--kv-len", 32768, "--kv-dtype", "fp8"]),
            (dict(op="gemm", m=4096, n=4096, k=4096, backend="calibrated"),
             ["--op", "gemm", "--m", 4096, "--n", 4096, "--k", 4096, "--backend", "calibrated"]),
            (dict(op="prefill-attention", isl=2048, cached=1024),
             ["--op", "prefill-attention", "--isl", 2048, "--cached", 1024]),
        ]:
            mine = kvsim.cost(gpu="h100-sxm", **kw)
            code, out, err = cli("cost", "--gpu", "h100-sxm", *flags, "--json")
            self.assertEqual(code, 0, err)
            self.assertEqual(mine, json.loads(out))
            self.assertGreater(mine["seconds"], 0)

    def test_cost_checks_its_keywords(self):
        with self.assertRaisesRegex(kvsim.Error, "cached"):
            kvsim.cost(gpu="h100-sxm", op="prefill-attention", isl=100, cached=-5)
        with self.assertRaisesRegex(kvsim.Error, "op decode-attention needs kv_len > 0"):
            kvsim.cost(gpu="h100-sxm", op="decode-attention")
        with self.assertRaisesRegex(kvsim.Error, "'attention' is not one of"):
            kvsim.cost(gpu="h100-sxm", op="attention")
        with self.assertRaisesRegex(kvsim.Error, "no-such-gpu"):
            kvsim.cost(gpu="no-such-gpu", op="gemm", m=1, n=1, k=1)

    def test_version(self):
        code, out, _ = cli("--version")
        self.assertEqual(code, 0)
        self.assertIn(kvsim.__version__, out)
        self.assertIn(kvsim.git_commit, out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
