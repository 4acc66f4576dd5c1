// Writes an HTML report for the browser check (tests/reports/browser_check.sh) or for a person to look at.
//   test_reports_sample [--normal|--hostile|--minimal|--cluster] OUT.html       single-run report of a sample
//   test_reports_sample --results RESULTS.json OUT.html                          single-run report of a file
//   test_reports_sample [--comparison|--comparison-hostile|--comparison-many|--comparison-minimal] OUT.html
//   test_reports_sample --comparison-json COMPARISON.json OUT.html               comparison report of a file
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "reports/atomic_output.h"
#include "reports/comparison_report.h"
#include "reports/html_report.h"
#include "sim/core/error.h"
#include "tests/reports/sample_results.h"

namespace {

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
      "usage: test_reports_sample [--normal|--hostile|--minimal|--cluster] OUT.html\n"
      "       test_reports_sample --results RESULTS.json OUT.html\n"
      "       test_reports_sample [--comparison|--comparison-hostile|--comparison-many|--comparison-minimal] OUT.html\n"
      "       test_reports_sample --comparison-json COMPARISON.json OUT.html\n";
  const std::map<std::string, SampleKind> samples = {
      {"--normal", SampleKind::kNormal}, {"--hostile", SampleKind::kHostile}, {"--minimal", SampleKind::kMinimal},
      {"--cluster", SampleKind::kCluster}};
  const std::map<std::string, ComparisonKind> comparisons = {{"--comparison", ComparisonKind::kNormal},
                                                             {"--comparison-hostile", ComparisonKind::kHostile},
                                                             {"--comparison-many", ComparisonKind::kMany},
                                                             {"--comparison-minimal", ComparisonKind::kMinimal}};
  try {
    const std::string mode = argc >= 2 ? argv[1] : "";
    std::string html;
    std::string out;
    if (mode == "--results" && argc == 4) {
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
