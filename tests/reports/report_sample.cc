// Writes an HTML report for the browser check (tests/reports/browser_check.sh) or for a person to look at.
//   test_reports_sample [--normal|--hostile|--minimal] OUT.html
//   test_reports_sample --results RESULTS.json OUT.html
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "reports/atomic_output.h"
#include "reports/html_report.h"
#include "sim/core/error.h"
#include "tests/reports/sample_results.h"

int main(int argc, char** argv) {
  const std::string usage =
      "usage: test_reports_sample [--normal|--hostile|--minimal] OUT.html\n"
      "       test_reports_sample --results RESULTS.json OUT.html\n";
  try {
    nlohmann::json results;
    std::string out;
    const std::string mode = argc >= 2 ? argv[1] : "";
    if (mode == "--results" && argc == 4) {
      std::ifstream in(argv[2]);
      if (!in) throw kvsim::KvsimError(std::string("cannot open ") + argv[2]);
      results = nlohmann::json::parse(in);
      out = argv[3];
    } else if (argc == 3 && (mode == "--normal" || mode == "--hostile" || mode == "--minimal")) {
      const auto kind = mode == "--hostile"   ? kvsim::test::SampleKind::kHostile
                        : mode == "--minimal" ? kvsim::test::SampleKind::kMinimal
                                              : kvsim::test::SampleKind::kNormal;
      results = kvsim::test::sample_results(kind);
      out = argv[2];
    } else if (argc == 2 && mode.rfind("--", 0) != 0) {
      results = kvsim::test::sample_results();
      out = argv[1];
    } else {
      std::cerr << usage;
      return 2;
    }
    kvsim::write_file_atomic(out, kvsim::render_html_report(results));
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "test_reports_sample: " << e.what() << "\n";
    return 1;
  }
}
