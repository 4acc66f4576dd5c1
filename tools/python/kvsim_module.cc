// `import kvsim`: the simulator, kv-size and cost as Python calls (pybind11). Each call is the library function the
// CLI calls (prepare_run + run_prepared, answer_kv_size, answer_cost), so a Python result and the CLI's JSON for the
// same input are the same numbers; dicts in and out through pybind11_json.
//
//   results = kvsim.run(scenario)                    # results.json's content, as a dict
//   results, requests = kvsim.run(scenario, requests=True)   # + requests.csv's rows (DataFrame with pandas)
//   kvsim.kv_size(model="llama-3.1-8b", context=32768, gpu="h100-sxm")
//   kvsim.cost(gpu="h100-sxm", op="decode-attention", batch=64, kv_len=32768)
//
// Errors: bad input raises kvsim.Error (a ValueError) with the message the CLI prints; Ctrl-C during a run raises
// KeyboardInterrupt (checked at every timeline sample and every 1024 finished requests).
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11_json/pybind11_json.hpp>

#include "models/cost/cost_query.h"
#include "sim/config/json_input.h"
#include "sim/config/kv_size_query.h"
#include "sim/config/scenario.h"
#include "sim/config/variants.h"
#include "sim/core/build_info.h"
#include "sim/core/error.h"
#include "sim/core/interrupt.h"
#include "sim/engine/results.h"
#include "sim/metrics/request_table.h"

namespace py = pybind11;

namespace kvsim::python {

namespace {

// A Python value as JSON; a value JSON cannot hold (a set, a numpy array, an object) is a TypeError naming `what`.
nlohmann::json to_json_value(const py::handle& value, const std::string& what) {
  try {
    return pyjson::to_json(value);
  } catch (const std::runtime_error& e) {
    throw py::type_error(what + ": " + e.what() + " (use dict, list, str, int, float, bool or None)");
  }
}

// One cell of the request table as a Python value (an empty cell is None).
py::object cell(std::nullptr_t) { return py::none(); }
py::object cell(const char* s) { return py::str(s); }
py::object cell(const std::string& s) { return py::str(s); }
py::object cell(const std::optional<double>& v) { return v ? py::object(py::float_(*v)) : py::object(py::none()); }
py::object cell(double v) { return py::float_(v); }
template <class T>
  requires std::is_integral_v<T>
py::object cell(T v) {
  return py::int_(v);
}

// Collects the finished requests (as records; turned into Python objects once the run is over, with the GIL) and
// polls Python's signal handlers so that Ctrl-C stops a long run.
class PythonObserver final : public ISimObserver {
 public:
  explicit PythonObserver(bool keep_requests) : keep_(keep_requests) {}
  void on_request_finished(const RequestRecord& r) override {
    if (keep_) records_.push_back(r);
    if (++finished_ % 1024 == 0) poll_signals();
  }
  void on_timeline_sample(const TimelineSample&) override { poll_signals(); }
  bool wants_iterations() const override { return false; }
  const std::vector<RequestRecord>& records() const { return records_; }

 private:
  static void poll_signals() {
    const py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  }
  bool keep_;
  std::uint64_t finished_ = 0;
  std::vector<RequestRecord> records_;
};

py::object request_rows(const RequestTable& table, const std::vector<RequestRecord>& records,
                        std::optional<bool> as_frame) {
  const std::vector<std::string> columns = table.columns();
  py::object pandas = py::none();
  if (!as_frame.has_value() || *as_frame) {
    try {
      pandas = py::module_::import("pandas");
    } catch (const py::error_already_set& e) {
      if (as_frame.value_or(false)) throw;  // asked for a DataFrame: pandas' ImportError says why there is none
    }
  }
  if (!pandas.is_none()) {
    // Column-wise: one list per column, then DataFrame(dict) keeps the column order.
    std::vector<py::list> cols(columns.size());
    for (const RequestRecord& r : records) {
      table.cells(r, [&](const auto&... c) {
        std::size_t i = 0;
        (cols[i++].append(cell(c)), ...);
      });
    }
    py::dict data;
    for (std::size_t i = 0; i < columns.size(); ++i) data[py::str(columns[i])] = cols[i];
    return pandas.attr("DataFrame")(data);
  }
  py::list rows;
  for (const RequestRecord& r : records) {
    py::dict row;
    table.cells(r, [&](const auto&... c) {
      std::size_t i = 0;
      ((row[py::str(columns[i++])] = cell(c)), ...);
    });
    rows.append(row);
  }
  return rows;
}

py::object run(const py::object& scenario, const std::optional<std::string>& base_dir,
               const std::optional<std::string>& variant, bool requests, std::optional<bool> as_frame) {
  nlohmann::json doc;
  std::filesystem::path base = base_dir ? std::filesystem::path(*base_dir) : std::filesystem::current_path();
  if (py::isinstance<py::dict>(scenario)) {
    doc = to_json_value(scenario, "scenario");
  } else if (py::isinstance<py::str>(scenario) || py::hasattr(scenario, "__fspath__")) {
    const std::filesystem::path file(py::str(py::module_::import("os").attr("fspath")(scenario)).cast<std::string>());
    doc = parse_json_file(file);
    if (!base_dir) base = std::filesystem::absolute(file).parent_path();
  } else {
    throw py::type_error("scenario: a dict (the scenario) or a path to a scenario JSON file");
  }
  doc = scenario_for_one_run(doc, variant.value_or(""), variant ? "variant" : "variant=NAME");
  PythonObserver observer(requests);
  nlohmann::json results;
  std::optional<RequestTable> table;
  {
    const py::gil_scoped_release no_gil;
    PreparedRun prepared = prepare_run(doc, std::filesystem::absolute(base));
    table.emplace(request_table(prepared));
    results = run_prepared(prepared, {&observer});
  }
  py::object out = pyjson::from_json(results);
  if (!requests) return out;
  return py::make_tuple(out, request_rows(*table, observer.records(), as_frame));
}

py::object kv_size(const py::kwargs& query) {
  const nlohmann::json args = to_json_value(query, "kvsim.kv_size");  // the reader keeps a reference
  ParamReader reader(args, "kvsim.kv_size");
  const KvSizeQuery q = read_kv_size_query(reader);
  return pyjson::from_json(to_json(answer_kv_size(q, std::filesystem::current_path()), q));
}

std::string same_name(const std::string& field) { return field; }

py::object cost(const py::kwargs& query) {
  const nlohmann::json args = to_json_value(query, "kvsim.cost");  // the reader keeps a reference
  ParamReader reader(args, "kvsim.cost");
  const CostQuery q = read_cost_query(reader);
  return pyjson::from_json(to_json(answer_cost(q, std::filesystem::current_path(), same_name), q));
}

}  // namespace

}  // namespace kvsim::python

PYBIND11_MODULE(kvsim, m) {
  using namespace kvsim::python;
  m.doc() =
      "kvsim: a trace-driven simulator and cost model for LLM KV-cache strategies (the library the kvsim CLI runs).\n"
      "run() simulates a scenario (the JSON of `kvsim run`), kv_size() and cost() answer `kvsim kv-size` and\n"
      "`kvsim cost`. Bad input raises kvsim.Error with the message the CLI would print.";
  m.attr("__version__") = kvsim::kKvsimVersion;
  m.attr("git_commit") = kvsim::git_commit();
  static py::exception<kvsim::KvsimError> error(m, "Error", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const kvsim::KvsimError& e) {
      error(e.what());
    }
  });
  m.def("run", &run, py::arg("scenario"), py::kw_only(), py::arg("base_dir") = py::none(),
        py::arg("variant") = py::none(), py::arg("requests") = false, py::arg("as_frame") = py::none(),
        "run(scenario, *, base_dir=None, variant=None, requests=False, as_frame=None)\n\n"
        "Simulates one scenario and returns results.json's content as a dict (the same numbers `kvsim run` writes;\n"
        "only summary.wall_time_s differs). `scenario` is a dict, or a path to a scenario JSON file (relative paths\n"
        "inside it resolve against its folder, as `kvsim run`); for a dict they resolve against `base_dir` (default:\n"
        "the current folder). `variant` names one variant of a comparison scenario. With requests=True it returns\n"
        "(results, requests): requests.csv's rows, as a pandas DataFrame when pandas can be imported (as_frame=None)\n"
        "or as_frame=True, else a list of dicts (as_frame=False).");
  m.def("kv_size", &kv_size,
        "kv_size(*, model, context, strategy='full', gpu=None, tensor_parallel=1, block_size=16,\n"
        "        gpu_memory_utilization=0.9, activation_reserve_GiB=None, max_num_batched_tokens=8192,\n"
        "        chunked_prefill=True) -> dict\n\n"
        "The KV-cache bytes of one request of `context` tokens under a strategy (and with `gpu`, how many fit):\n"
        "the document `kvsim kv-size --json` prints. Keywords only; the same ranges as the CLI's flags.");
  m.def("cost", &cost,
        "cost(*, gpu, op, backend='roofline', batch=1, kv_len=0, isl=0, cached=0, q_heads=32, kv_heads=8,\n"
        "     head_dim=128, kv_dtype='bf16', m=0, n=0, k=0, bytes=0, gpus=2, calibration=None, profile=None,\n"
        "     aiconfigurator=None, framework='vllm', version='0.24.0', l2_cache='cold') -> dict\n\n"
        "The predicted time of one kernel launch (op: decode-attention, prefill-attention, gemm, all-reduce): the\n"
        "document `kvsim cost --json` prints. Keywords only; the same ranges as the CLI's flags.");
}
