// Writes an HTML report for the browser check (tests/reports/browser_check.sh) or for a person to look at.
//   test_reports_sample [--normal|--hostile|--minimal|--cluster] OUT.html       single-run report of a sample
//   test_reports_sample --results RESULTS.json OUT.html                          single-run report of a file
//   test_reports_sample [--comparison|--comparison-hostile|--comparison-many|--comparison-minimal] OUT.html
//   test_reports_sample --comparison-json COMPARISON.json OUT.html               comparison report of a file
//   test_reports_sample --capacity OUT.html                                     capacity report of a sample
//   test_reports_sample --sweep OUT.html                                        sweep report of a sample
//   test_reports_sample --plan OUT.html                                         plan report of a sample
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "reports/atomic_output.h"
#include "reports/capacity_report.h"
#include "reports/plan_report.h"
#include "reports/sweep_report.h"
#include "reports/comparison_report.h"
#include "reports/html_report.h"
#include "sim/core/error.h"
#include "tests/reports/sample_results.h"

namespace {

// A capacity.json of two variants, one with a hostile name, and their probes (the charts need rates and p99s).
nlohmann::json sample_capacity() {
  nlohmann::json c = {{"kvsim_version", "0.1.0"}, {"title", "capacity <b>sample</b>"}, {"tolerance", 0.02},
                      {"slo", {{"ttft_p99_s", 2.0}, {"tpot_p99_s", 0.05}, {"attainment", 0.99}}},
                      {"simulations", 12}, {"wall_time_s", 3.5}, {"variants", nlohmann::json::array()}};
  for (const auto& [name, scale] : {std::pair{"full", 1.0}, std::pair{"<script>alert(1)</script>", 1.6}}) {
    nlohmann::json probes = nlohmann::json::array();
    for (const double m : {1.0, 2.0, 4.0, 3.0, 2.5}) {
      const double rate = 5.5 * m * scale;
      probes.push_back({{"multiplier", m}, {"offered_rate_per_s", rate}, {"passes", m <= 2.5},
                        {"ttft_p99_s", 0.2 * m * m}, {"tpot_p99_s", 0.01 * m * 1.5}, {"e2e_p99_s", 10 * m},
                        {"attainment", m <= 2.5 ? 0.995 : 0.9}, {"goodput_requests_per_s", rate * (m <= 2.5 ? 1 : 0.7)},
                        {"overloaded", m > 3}, {"usd_per_hour", 3.0}, {"usd_per_million_output_tokens", 0.5 / m}});
    }
    c["variants"].push_back({{"name", name}, {"verdict", "bracketed"}, {"multiplier", 2.5},
                             {"max_rate_per_s", 5.5 * 2.5 * scale}, {"gpus", 1}, {"at_max", probes[4]},
                             {"probes", probes}});
  }
  return c;
}

// A sweep.json of six points over two keys, one value hostile, one point over capacity.
nlohmann::json sample_sweep() {
  nlohmann::json points = nlohmann::json::array();
  int i = 0;
  for (const int seqs : {64, 256}) {
    for (const char* strategy : {"full", "fp8", "<b>kivi</b>"}) {
      points.push_back({{"point", i},
                        {"overrides", {{"engine.max_num_seqs", seqs}, {"kv.strategy", strategy}}},
                        {"metrics", {{"output_tokens_per_s", 2000.0 + 300 * i}, {"ttft_p99_s", 0.5 + 0.4 * i},
                                     {"tpot_p99_s", 0.02}, {"overloaded", i == 5}, {"slo_attainment", 0.99},
                                     {"usd_per_million_output_tokens", 0.4}}}});
      ++i;
    }
  }
  return {{"kvsim_version", "0.1.0"}, {"title", "sweep sample"}, {"scenario", "base.json"},
          {"keys", {"engine.max_num_seqs", "kv.strategy"}}, {"points", points}};
}

// A plan.json of six configurations: two pruned, one with a hostile value, the third the answer.
nlohmann::json sample_plan() {
  nlohmann::json configs = nlohmann::json::array();
  for (int i = 0; i < 6; ++i) {
    nlohmann::json c = {{"point", i},
                        {"overrides", {{"hardware.tensor_parallel", 1 << (i % 4)}, {"kv.strategy", i == 4 ? "<b>x</b>" : "full"}}},
                        {"gpus", 1 << (i % 4)}};
    if (i < 2) {
      c["pruned"] = i == 0 ? "model does not fit <script>" : "needs 16 GPUs, more than max_gpus 8";
    } else {
      c["metrics"] = {{"output_tokens_per_s", 1000.0 * i}, {"ttft_p99_s", 0.3 * i}, {"tpot_p99_s", 0.01 * i},
                      {"usd_per_million_output_tokens", 1.0 / i}, {"usd_per_hour", 3.0 * i}, {"slo_attainment", 0.995}};
      c["output_tokens_per_s_per_gpu"] = 1000.0 * i / (1 << (i % 4));
      c["tokens_per_s_per_user"] = 100.0 / i;
      c["feasible"] = i != 5;
      c["pareto"] = i == 2 || i == 3;
    }
    configs.push_back(c);
  }
  return {{"kvsim_version", "0.1.0"}, {"scenario", "base.json"}, {"max_gpus", 8}, {"candidates", 6},
          {"pruned_invalid", 1}, {"pruned_gpus", 1}, {"simulated", 4}, {"pareto", 2}, {"answer", 4},
          {"configs", configs}};
}

nlohmann::json read_json(const char* path) {
  std::ifstream in(path);
  if (!in) throw kvsim::KvsimError(std::string("cannot open ") + path);
  return nlohmann::json::parse(in);
}

}  // namespace

int main(int argc, char** argv) {
  using kvsim::test::ComparisonKind;
  using kvsim::test::SampleKind;
  const std::string usage =
      "usage: test_reports_sample [--normal|--hostile|--minimal|--cluster|--cluster-many] OUT.html\n"
      "       test_reports_sample --results RESULTS.json OUT.html\n"
      "       test_reports_sample [--comparison|--comparison-hostile|--comparison-many|--comparison-minimal] OUT.html\n"
      "       test_reports_sample --comparison-json COMPARISON.json OUT.html\n"
      "       test_reports_sample --capacity OUT.html\n"
      "       test_reports_sample --sweep OUT.html\n"
      "       test_reports_sample --plan OUT.html\n";
  const std::map<std::string, SampleKind> samples = {
      {"--normal", SampleKind::kNormal}, {"--hostile", SampleKind::kHostile}, {"--minimal", SampleKind::kMinimal},
      {"--cluster", SampleKind::kCluster}, {"--cluster-many", SampleKind::kClusterMany}};
  const std::map<std::string, ComparisonKind> comparisons = {{"--comparison", ComparisonKind::kNormal},
                                                             {"--comparison-hostile", ComparisonKind::kHostile},
                                                             {"--comparison-many", ComparisonKind::kMany},
                                                             {"--comparison-minimal", ComparisonKind::kMinimal}};
  try {
    const std::string mode = argc >= 2 ? argv[1] : "";
    std::string html;
    std::string out;
    if (mode == "--plan" && argc == 3) {
      html = kvsim::render_plan_report(sample_plan());
      out = argv[2];
    } else if (mode == "--sweep" && argc == 3) {
      html = kvsim::render_sweep_report(sample_sweep());
      out = argv[2];
    } else if (mode == "--capacity" && argc == 3) {
      html = kvsim::render_capacity_report(sample_capacity());
      out = argv[2];
    } else if (mode == "--results" && argc == 4) {
      html = kvsim::render_html_report(read_json(argv[2]));
      out = argv[3];
    } else if (mode == "--comparison-json" && argc == 4) {
      html = kvsim::render_comparison_report(read_json(argv[2]));
      out = argv[3];
    } else if (argc == 3 && samples.count(mode) != 0) {
      html = kvsim::render_html_report(kvsim::test::sample_results(samples.at(mode)));
      out = argv[2];
    } else if (argc == 3 && comparisons.count(mode) != 0) {
      html = kvsim::render_comparison_report(kvsim::test::sample_comparison(comparisons.at(mode)));
      out = argv[2];
    } else if (argc == 2 && mode.rfind("--", 0) != 0) {
      html = kvsim::render_html_report(kvsim::test::sample_results());
      out = argv[1];
    } else {
      std::cerr << usage;
      return 2;
    }
    kvsim::write_file_atomic(out, html);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "test_reports_sample: " << e.what() << "\n";
    return 1;
  }
}
