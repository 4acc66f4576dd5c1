// `kvsim calibrate`: fit the calibrated roofline to real-GPU measurements and report, on measurements held back
// from the fit, the error of every backend per op family (median and p90 of |predicted - measured| / measured).
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "models/cost/calibration.h"
#include "models/cost/impl/calibrated.h"
#include "models/cost/impl/measured.h"
#include "models/spec/catalog.h"
#include "reports/atomic_output.h"
#include "reports/html_common.h"
#include "sim/config/json_input.h"
#include "tools/kvsim/cli_checks.h"
#include "tools/kvsim/commands.h"

namespace kvsim::cli {

namespace {

// Deterministic split: a point is held out when a hash of (seed, family, index) falls below the fraction.
bool held_out(std::uint64_t seed, std::uint64_t family, std::uint64_t index, double fraction) {
  std::uint64_t z = seed * 0x9E3779B97F4A7C15ULL + family * 0xBF58476D1CE4E5B9ULL + index + 1;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return static_cast<double>(z % 1000000) < fraction * 1e6;
}

template <class T>
void split(const std::vector<T>& all, std::uint64_t seed, std::uint64_t family, double fraction, std::vector<T>& train,
           std::vector<T>& test) {
  for (std::size_t i = 0; i < all.size(); ++i) (held_out(seed, family, i, fraction) ? test : train).push_back(all[i]);
}

struct ErrorStats {
  std::size_t points = 0;
  double median = 0, p90 = 0;
};

ErrorStats stats(std::vector<double> e) {
  ErrorStats s;
  s.points = e.size();
  if (e.empty()) return s;
  std::sort(e.begin(), e.end());
  const auto at = [&](double q) { return e[std::min(e.size() - 1, static_cast<std::size_t>(std::ceil(q * e.size())) - 1)]; };
  s.median = at(0.5);
  s.p90 = at(0.9);
  return s;
}

// The shape keys that identify a measured point of `family` (the kvsim cost flags of its op).
nlohmann::json shape_json(OpFamily family, const KernelOp& op) {
  const OpShape& s = op.shape;
  switch (family) {
    case OpFamily::kGemm: return {{"m", s.m}, {"n", s.n}, {"k", s.k}};
    case OpFamily::kDecodeAttention:
      return {{"batch", s.batch},       {"kv_len", s.kv_len},     {"q_heads", s.q_heads},
              {"kv_heads", s.kv_heads}, {"head_dim", s.head_dim}, {"kv_bits", s.kv_bits}};
    case OpFamily::kPrefillAttention:
      return {{"batch", s.batch},     {"isl", s.tokens},        {"cached", s.kv_len},
              {"q_heads", s.q_heads}, {"kv_heads", s.kv_heads}, {"head_dim", s.head_dim}};
    case OpFamily::kAllReduce:
      return {{"bytes", s.message_bytes}, {"gpus", op.tp}};
    case OpFamily::kMoeExperts:
      return {{"tokens", s.m}, {"hidden", s.k}, {"intermediate", s.n}, {"experts", s.experts}, {"topk", s.topk}};
  }
  return nlohmann::json::object();
}

std::string html_page(const nlohmann::json& report) {
  using report_html::esc;
  std::string rows;
  for (const auto& r : report["accuracy"]) {
    rows += fmt::format("<tr><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{:.1f} %</td><td class=n>{:.1f} %"
                        "</td></tr>\n",
                        r["family"].get<std::string>(), r["backend"].get<std::string>(), r["points"].get<long long>(),
                        100 * r["median_abs_rel_error"].get<double>(), 100 * r["p90_abs_rel_error"].get<double>());
  }
  // Per family, the held-out points the calibrated backend prices worst, with every backend's time.
  std::string worst;
  std::vector<std::string> backends;
  for (const auto& r : report["accuracy"]) {
    const std::string b = r["backend"].get<std::string>();
    if (std::find(backends.begin(), backends.end(), b) == backends.end()) backends.push_back(b);
  }
  for (OpFamily fam : kOpFamilies) {
    std::vector<const nlohmann::json*> pts;
    for (const auto& p : report["held_out_points"]) {
      if (p["family"] == family_name(fam) && p["predicted_s"].contains("calibrated")) pts.push_back(&p);
    }
    if (pts.empty()) continue;
    const auto error = [](const nlohmann::json& p) {
      return std::fabs(p["predicted_s"]["calibrated"].get<double>() / p["measured_s"].get<double>() - 1);
    };
    std::sort(pts.begin(), pts.end(), [&](const auto* a, const auto* b) { return error(*a) > error(*b); });
    pts.resize(std::min<std::size_t>(pts.size(), 8));
    worst += fmt::format("<h3>{}</h3>\n<table><thead><tr><th>shape</th><th class=n>measured</th>", family_name(fam));
    for (const std::string& b : backends) worst += "<th class=n>" + esc(b) + "</th>";
    worst += "</tr></thead><tbody>\n";
    for (const nlohmann::json* p : pts) {
      std::string shape;
      for (const auto& [k, v] : (*p)["shape"].items()) {
        const bool whole = v.is_number() && std::floor(v.get<double>()) == v.get<double>();
        shape += fmt::format("{}{} {}", shape.empty() ? "" : ", ", k,
                             whole ? fmt::format("{:.0f}", v.get<double>()) : v.dump());
      }
      const double measured = (*p)["measured_s"].get<double>();
      worst += fmt::format("<tr><td>{}</td><td class=n>{:.1f} µs</td>", esc(shape), 1e6 * measured);
      for (const std::string& b : backends) {
        const double t = (*p)["predicted_s"].value(b, 0.0);
        worst += fmt::format("<td class=n>{:.1f} µs ({:+.0f} %)</td>", 1e6 * t, 100 * (t / measured - 1));
      }
      worst += "</tr>\n";
    }
    worst += "</tbody></table>\n";
  }
  return fmt::format(R"(<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>kvsim calibration</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse}}
td,th{{border-bottom:1px solid #ddd;padding:4px 12px;text-align:left}}.n{{text-align:right}}</style></head><body>
<h1>Cost-model accuracy on held-out measurements</h1>
<p>GPU {}; measurements: {}; {} % of the points held out of the fit (seed {}). Error = |predicted - measured| /
measured per kernel launch (MoE experts: per layer's fused-MoE call). <em>roofline</em>: default efficiencies;
<em>calibrated</em>: fitted roofline; <em>measured</em>: log-log interpolation of the remaining points (falls back
to the roofline where a neighbour is missing); <em>hybrid</em>: measured inside the tables, calibrated elsewhere.</p>
<table><thead><tr><th>op family</th><th>backend</th><th class=n>held-out points</th><th class=n>median</th>
<th class=n>p90</th></tr></thead><tbody>
{}</tbody></table>
<h2>Worst held-out points of the calibrated backend</h2>
<p>Per op family, the held-out points with the largest calibrated error, priced by every backend (signed error
against the measurement). accuracy.json lists every held-out point.</p>
{}</body></html>
)",
                     esc(report["gpu"].get<std::string>()), esc(report["measurements"].get<std::string>()),
                     100 * report["holdout"].get<double>(), report["seed"].get<long long>(), rows, worst);
}

}  // namespace

void add_calibrate_command(CLI::App& app) {
  struct Args {
    std::string gpu, profile, aiconfigurator, framework = "vllm", version = "0.24.0", out, transfer, serving_runs;
    int folds = 5;
    double holdout = 0.2;
    long long seed = 1;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "calibrate",
      "Fit the calibrated roofline to measurements (--profile FILE or --aiconfigurator DIR) and report the error of\n"
      "the roofline, calibrated, measured and hybrid backends on the held-out points, per op family. --out DIR\n"
      "writes calibration.json (fitted on all points, for cost_model.calibration), accuracy.json (with every\n"
      "held-out point's measured and predicted times) and report.html.\n"
      "With --serving-runs RUNS.json instead: fit the engine profile's time outside the engine (request_s) to\n"
      "measured serving runs ({\"runs\": [{\"name\", \"scenario\", \"measured\", \"format\"}, ...]}, each what kvsim\n"
      "validate takes) by --folds-fold cross-validation, and report the held-out folds' errors only.");
  cmd->add_option("--gpu", a->gpu, "GPU the measurements are of (kvsim list gpus); required for kernel tables");
  cmd->add_option("--serving-runs", a->serving_runs, "measured serving runs to fit engine.profile.request_s to")
      ->check(CLI::ExistingFile);
  cmd->add_option("--folds", a->folds, "cross-validation folds for --serving-runs")
      ->check(integer_in(2, 100))
      ->default_str("5");
  cmd->add_option("--profile", a->profile, "a kvsim profile JSON");
  cmd->add_option("--aiconfigurator", a->aiconfigurator, "an aiconfigurator system folder");
  cmd->add_option("--framework", a->framework, "aiconfigurator framework")->default_str("vllm");
  cmd->add_option("--version", a->version, "aiconfigurator version")->default_str("0.24.0");
  cmd->add_option("--holdout", a->holdout, "fraction of points held out of the fit")
      ->check(number_in(0.01, 0.9))
      ->default_str("0.2");
  cmd->add_option("--seed", a->seed, "seed of the split")->default_str("1");
  cmd->add_option("--transfer", a->transfer,
                  "a calibration.json fitted on another GPU's measurements: also priced on the held-out points, as\n"
                  "backend 'transferred' (how well a fit carries to a GPU that has only a spec card)");
  cmd->add_option("--out", a->out, "output directory (replaced atomically)");
  cmd->add_flag("--json", a->json, "print JSON");
  cmd->callback([a] {
    if (!a->serving_runs.empty()) {
      const nlohmann::json fit = calibrate_serving_runs(a->serving_runs, a->folds);
      if (a->json) {
        fmt::print("{}\n", fit.dump(2));
      } else {
        print_serving_fit(fit);
      }
      return;
    }
    if (a->gpu.empty()) throw KvsimError("--gpu: required with kernel measurements (--profile or --aiconfigurator)");
    const GpuSpec& gpu = Catalog::builtin().gpu(a->gpu, "--gpu");
    nlohmann::json src = nlohmann::json::object(), recorded = nlohmann::json::object();
    if (!a->profile.empty()) src["profile"] = std::filesystem::absolute(a->profile).string();
    if (!a->aiconfigurator.empty()) {
      src["aiconfigurator"] = std::filesystem::absolute(a->aiconfigurator).string();
      src["framework"] = a->framework;
      src["version"] = a->version;
    }
    ParamReader reader(src, "measurements");
    std::optional<Profile> all = read_profile_source(reader, gpu, std::filesystem::current_path(), recorded);
    if (!all) throw KvsimError("give the measurements: --profile FILE or --aiconfigurator DIR");
    const auto seed = static_cast<std::uint64_t>(a->seed);
    Profile train = *all, test = *all;
    train.decode_attention.clear(), test.decode_attention.clear();
    train.prefill_attention.clear(), test.prefill_attention.clear();
    train.gemm.clear(), test.gemm.clear();
    train.all_reduce.clear(), test.all_reduce.clear();
    train.moe.clear(), test.moe.clear();
    split(all->gemm, seed, 0, a->holdout, train.gemm, test.gemm);
    split(all->decode_attention, seed, 1, a->holdout, train.decode_attention, test.decode_attention);
    split(all->prefill_attention, seed, 2, a->holdout, train.prefill_attention, test.prefill_attention);
    split(all->all_reduce, seed, 3, a->holdout, train.all_reduce, test.all_reduce);
    split(all->moe, seed, 4, a->holdout, train.moe, test.moe);

    const RooflineParams defaults;
    const RooflineCostModel roofline(defaults, gpu);
    const Calibration fitted = Calibration::fit(measured_ops(train), gpu, gpu.name + " " + all->source + " (train)");
    // Held-out points are benchmark measurements: priced as benchmarks (operands that fit in L2 read from it).
    constexpr auto kBench = CalibratedCostModel::L2Cache::kBenchmark;
    const CalibratedCostModel calibrated(fitted, gpu, defaults, nlohmann::json::object(), kBench);
    const MeasuredCostModel measured(train, gpu, defaults, nlohmann::json::object());
    const HybridCostModel hybrid(train, fitted, gpu, defaults, nlohmann::json::object(), kBench);
    std::vector<std::pair<std::string, const IKernelCostModel*>> backends = {
        {"roofline", &roofline}, {"calibrated", &calibrated}, {"measured", &measured}, {"hybrid", &hybrid}};
    std::optional<CalibratedCostModel> transferred;
    std::string transferred_from;
    if (!a->transfer.empty()) {
      Calibration c = Calibration::from_json(parse_json_file(a->transfer), a->transfer);
      transferred_from = c.fitted_on;
      transferred.emplace(std::move(c), gpu, defaults, nlohmann::json::object(), kBench);
      backends.emplace_back("transferred", &*transferred);
    }

    std::map<std::pair<OpFamily, std::string>, std::vector<double>> errors;
    nlohmann::json held_out_points = nlohmann::json::array();
    for (const MeasuredOp& m : measured_ops(test)) {
      nlohmann::json predicted = nlohmann::json::object();
      for (const auto& [name, model] : backends) {
        const double t = model->estimate(m.op).seconds;
        errors[{m.family, name}].push_back(std::fabs(t - m.seconds) / m.seconds);
        predicted[name] = t;
      }
      held_out_points.push_back({{"family", family_name(m.family)},
                                 {"shape", shape_json(m.family, m.op)},
                                 {"measured_s", m.seconds},
                                 {"predicted_s", std::move(predicted)}});
    }
    nlohmann::json report = {{"gpu", gpu.name}, {"measurements", all->source}, {"holdout", a->holdout},
                             {"seed", a->seed}, {"accuracy", nlohmann::json::array()}};
    if (transferred) report["transferred_from"] = transferred_from;
    if (!a->json) fmt::print("{:<18} {:<11} {:>8} {:>9} {:>9}\n", "op family", "backend", "points", "median", "p90");
    for (OpFamily fam : kOpFamilies) {
      for (const auto& [name, model] : backends) {
        const auto it = errors.find({fam, name});
        if (it == errors.end()) continue;
        const ErrorStats s = stats(it->second);
        report["accuracy"].push_back({{"family", family_name(fam)}, {"backend", name}, {"points", s.points},
                                      {"median_abs_rel_error", s.median}, {"p90_abs_rel_error", s.p90}});
        if (!a->json) {
          fmt::print("{:<18} {:<11} {:>8} {:>8.1f}% {:>8.1f}%\n", family_name(fam), name, s.points, 100 * s.median,
                     100 * s.p90);
        }
      }
    }
    report["held_out_points"] = std::move(held_out_points);
    report["fit_on_train"] = fitted.to_json();
    if (a->json) fmt::print("{}\n", report.dump(2));
    if (!a->out.empty()) {
      AtomicDirectory dir(a->out);
      const Calibration full = Calibration::fit(measured_ops(*all), gpu, gpu.name + " " + all->source);
      write_file_atomic(dir.path() / "calibration.json", full.to_json().dump(2) + "\n");
      write_file_atomic(dir.path() / "accuracy.json", report.dump(2) + "\n");
      write_file_atomic(dir.path() / "report.html", html_page(report));
      dir.commit();
      if (!a->json) fmt::print("output     {}\n", dir.final_path().string());
    }
  });
}

}  // namespace kvsim::cli
