// Unit tests of the report writers: HTML report, CSV writer, atomic files and directories.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "reports/atomic_output.h"
#include "reports/csv_writer.h"
#include "reports/html_report.h"
#include "sim/core/error.h"
#include "tests/reports/sample_results.h"

namespace kvsim {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using test::SampleKind;
using test::sample_results;
using test::count;
using test::lower;


// The text of the embedded results element.
std::string embedded_results(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"kvsim-results\">";
  const std::size_t start = html.find(open);
  EXPECT_NE(start, std::string::npos);
  if (start == std::string::npos) return {};
  const std::size_t body = start + open.size();
  const std::size_t end = html.find("</script>", body);
  EXPECT_NE(end, std::string::npos);
  return html.substr(body, end - body);
}

// The page without the inlined library and the embedded JSON: what the HTML parser shows as markup and text.
std::string markup_only(const std::string& html) {
  std::string out = html;
  const std::string json_open = "<script type=\"application/json\" id=\"kvsim-results\">";
  if (auto a = out.find(json_open); a != std::string::npos) out.erase(a, out.find("</script>", a) - a);
  return out;
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::path(KVSIM_BINARY_DIR) / "test-output" / "reports" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// ------------------------------------------------------------------------------------------------------------
// HTML report

TEST(HtmlReport, InlinesChartJs) {
  const std::string html = render_html_report(sample_results());
  EXPECT_NE(html.find("Chart.js v3"), std::string::npos);         // the library's license header
  EXPECT_NE(html.find("DoughnutController"), std::string::npos);  // and its code
  EXPECT_NE(html.find(".Chart="), std::string::npos);             // the UMD global the page script uses
  EXPECT_EQ(html_report_chart_library().rfind("Chart.js 3.", 0), 0u) << html_report_chart_library();
  EXPECT_GT(html.size(), 190000u);
}

TEST(HtmlReport, LoadsNothingFromTheNetwork) {
  for (SampleKind kind : {SampleKind::kNormal, SampleKind::kMinimal}) {
    const std::string html = lower(render_html_report(sample_results(kind)));
    for (const char* bad : {"src=\"http", "src='http", "href=\"http", "href='http", "@import", "url(http", "<link",
                            "<iframe", "src=\"//", "href=\"//"}) {
      EXPECT_EQ(html.find(bad), std::string::npos) << bad;
    }
    // Every script is inline.
    EXPECT_EQ(count(html, "<script src"), 0u);
    EXPECT_EQ(count(html, "<script"), 4u);  // error handler, results JSON, Chart.js, page script
  }
}

TEST(HtmlReport, EmbeddedJsonCannotCloseItsElementAndRoundTrips) {
  json results = sample_results(SampleKind::kHostile);
  results["approximations"].push_back("</script><!-- <script>");
  const std::string html = render_html_report(results);

  // Exactly four script elements, each closed once: no string value closed one early.
  EXPECT_EQ(count(lower(html), "<script"), 4u);
  EXPECT_EQ(count(lower(html), "</script"), 4u);

  const std::string embedded = embedded_results(html);
  EXPECT_EQ(embedded.find('<'), std::string::npos);
  EXPECT_NE(embedded.find("\\u003c/script\\u003e"), std::string::npos);
  EXPECT_EQ(json::parse(embedded), results);  // the page script sees exactly the results
}

TEST(HtmlReport, EscapesStringsFromResults) {
  const std::string html = render_html_report(sample_results(SampleKind::kHostile));
  // The rejection reason "prompt <b>too long</b> & over capacity" appears escaped in the table, never as markup.
  EXPECT_NE(html.find("prompt &lt;b&gt;too long&lt;/b&gt; &amp; over capacity"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_EQ(html.find("<i>markup"), std::string::npos);
  EXPECT_NE(html.find("&lt;i&gt;markup&lt;/i&gt;"), std::string::npos);
  EXPECT_NE(html.find("llama&lt;script&gt;-3.1-8b"), std::string::npos);  // model name in title and header
  EXPECT_EQ(markup_only(html).find("alert('x')"), std::string::npos);     // only as &#39; escaped text
  EXPECT_NE(html.find("alert(&#39;x&#39;)"), std::string::npos);
}

TEST(HtmlReport, HasTheSections) {
  const std::string html = render_html_report(sample_results());
  for (const char* needle :
       {"<title>kvsim report: llama-3.1-8b on h100-sxm</title>", "vllm-v1", "0.1.0", "synthetic (arrival=poisson",
        "id=\"summary\"", "id=\"chart-ttft\"", "id=\"chart-e2e\"", "id=\"chart-tpot\"", "id=\"chart-kv\"",
        "id=\"chart-batch\"", "id=\"chart-cost\"", "id=\"cost\"", "id=\"rejections\"", "id=\"approximations\"",
        "<summary>Resolved scenario</summary>", "&quot;max_num_batched_tokens&quot;: 8192", "attention.decode",
        "Sampling and detokenization are a fixed per-iteration overhead.", "id=\"slo\"", "id=\"prefix-cache\"",
        "id=\"chart-prefix\"", "Tiers below the GPU", "131,072"}) {
    EXPECT_NE(html.find(needle), std::string::npos) << needle;
  }
}

TEST(HtmlReport, ShowsTheClusterWhenThereIsOne) {
  EXPECT_EQ(render_html_report(sample_results()).find("id=\"cluster\""), std::string::npos);  // one replica
  const std::string html = render_html_report(sample_results(SampleKind::kCluster));
  for (const char* needle : {"id=\"cluster\"", "prefix-aware:load_weight=0.5", ">1.02<", ">610<", ">81.0 %<",
                             ">12.5<", "Fleet cost", "(the H100 card)", "id=\"chart-replica-kv\"",
                             "id=\"chart-replica-load\""}) {
    EXPECT_NE(html.find(needle), std::string::npos) << needle;
  }
}

TEST(HtmlReport, DescribesScenarioInOneLine) {
  json results = sample_results();
  results["scenario"]["kv"] = {{"strategy", json::array({{{"strategy", "snapkv"}, {"budget_tokens", 2048}}, "kivi-2"})}};
  results["scenario"]["hardware"]["num_gpus"] = 2;
  results["scenario"]["hardware"]["tensor_parallel"] = 2;
  const std::string html = render_html_report(results);
  EXPECT_NE(html.find("<dd>snapkv(budget_tokens=2048) + kivi-2</dd>"), std::string::npos);
  EXPECT_NE(html.find("input_tokens=lognormal(mean=1000)"), std::string::npos);
  EXPECT_NE(html.find("on 2 \u00d7 h100-sxm, TP 2</h1>"), std::string::npos);

  results["scenario"]["workload"] = {{"trace", {{"path", "/data/traces/conv.csv"}, {"format", "azure-2023"}}}};
  EXPECT_NE(render_html_report(results).find("<dd>trace conv.csv (azure-2023)</dd>"), std::string::npos);
}

TEST(HtmlReport, FormatsNumbersForPeople) {
  const std::string html = render_html_report(sample_results());
  EXPECT_NE(html.find(">152 ms<"), std::string::npos);       // TTFT p50 0.152 s
  EXPECT_NE(html.find(">1.12 s<"), std::string::npos);       // TTFT p99
  EXPECT_NE(html.find(">22.3 ms<"), std::string::npos);      // TPOT p50
  EXPECT_NE(html.find(">1,200<"), std::string::npos);        // arrived
  EXPECT_NE(html.find(">450,560 tokens<"), std::string::npos);
  EXPECT_NE(html.find(">55.0 GiB<"), std::string::npos);     // 59,055,800,320 bytes
  EXPECT_NE(html.find(">34.3 %<"), std::string::npos);       // prefix-cache hit rate
  EXPECT_NE(html.find(">601 s (10.0 min)<"), std::string::npos);
  EXPECT_NE(html.find(">1.84 s<"), std::string::npos);
  EXPECT_NE(html.find(">2,003 tok/s<"), std::string::npos);
  // SLO: TTFT p99 1.12 s <= 2 s met, TPOT p99 46.3 ms > 40 ms missed.
  EXPECT_NE(html.find("<code>ttft_p99_s</code></th><td class=\"num\">2.00 s</td><td class=\"num\">1.12 s</td>"
                      "<td class=\"ok\">yes</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\">46.3 ms</td><td class=\"bad\">no</td>"), std::string::npos);
}

TEST(HtmlReport, WorksWithoutOptionalSections) {
  const std::string minimal = render_html_report(sample_results(SampleKind::kMinimal));
  EXPECT_EQ(minimal.find("id=\"rejections\""), std::string::npos);
  EXPECT_EQ(minimal.find("id=\"chart-cost\""), std::string::npos);
  EXPECT_NE(minimal.find("The results hold no cost breakdown."), std::string::npos);
  EXPECT_NE(minimal.find("The results list no approximations."), std::string::npos);
  EXPECT_NE(minimal.find("id=\"chart-ttft\""), std::string::npos);  // the page script shows "no data" there

  json no_rejections = sample_results();
  no_rejections.erase("rejections");
  no_rejections["summary"]["requests"]["rejected"] = 0;
  EXPECT_EQ(render_html_report(no_rejections).find("id=\"rejections\""), std::string::npos);

  // Rejected requests without details still say so.
  json no_details = sample_results();
  no_details.erase("rejections");
  EXPECT_NE(render_html_report(no_details).find("the results hold no reasons"), std::string::npos);

  // Nulls, wrong types and an empty document do not break rendering.
  json odd = sample_results();
  odd["summary"]["ttft_s"] = nullptr;
  odd["summary"]["kv"] = "not an object";
  odd["cost_breakdown"] = json::array({json::object(), {{"op", 3}, {"seconds", "x"}}});
  odd["timeline"]["rows"] = 5;
  odd["approximations"] = json::array({1, nullptr, "text"});
  EXPECT_NO_THROW(render_html_report(odd));
  EXPECT_NO_THROW(render_html_report(json::object()));
  EXPECT_THROW(render_html_report(json::array()), KvsimError);
}

TEST(HtmlReport, IsDeterministic) {
  EXPECT_EQ(render_html_report(sample_results()), render_html_report(sample_results()));
}

TEST(HtmlReport, WritesASampleForPeople) {
  // Not a check: leaves build/test-output/reports/sample/report.html to open in a browser.
  const fs::path dir = fresh_dir("sample");
  write_file_atomic(dir / "report.html", render_html_report(sample_results()));
  EXPECT_TRUE(fs::exists(dir / "report.html"));
}

// ------------------------------------------------------------------------------------------------------------
// CSV

TEST(CsvWriter, WritesHeaderAndQuotesWhereNeeded) {
  std::ostringstream out;
  CsvWriter csv(out, {"id", "name", "note"});
  csv.row(1, "plain", "a,b");
  csv.row(2, "say \"hi\"", "two\nlines");
  csv.row(3, std::string(" padded"), std::string_view("cr\r"));
  csv.row(4, "", 'x');
  EXPECT_EQ(out.str(),
            "id,name,note\n"
            "1,plain,\"a,b\"\n"
            "2,\"say \"\"hi\"\"\",\"two\nlines\"\n"
            "3,\" padded\",\"cr\r\"\n"
            "4,,x\n");
  EXPECT_EQ(csv.rows_written(), 4u);
}

TEST(CsvWriter, QuotesColumnNames) {
  std::ostringstream out;
  CsvWriter csv(out, {"a", "b,c"});
  EXPECT_EQ(out.str(), "a,\"b,c\"\n");
}

TEST(CsvWriter, NumbersRoundTrip) {
  std::ostringstream out;
  CsvWriter csv(out, {"a", "b", "c", "d", "e", "f", "g", "h"});
  const double third = 1.0 / 3.0;
  csv.row(0.1, third, 1e-7, 3.0, -2.5e20, 0.1f, std::numeric_limits<std::int64_t>::max(),
          std::numeric_limits<std::uint64_t>::max());
  const std::string s = out.str();
  const std::string line = s.substr(s.find('\n') + 1);
  EXPECT_EQ(line.rfind("0.1,", 0), 0u) << line;
  std::istringstream fields(line);
  std::string f;
  std::vector<std::string> parts;
  while (std::getline(fields, f, ',')) parts.push_back(f);
  ASSERT_EQ(parts.size(), 8u);
  EXPECT_EQ(std::stod(parts[1]), third);  // exact round trip
  EXPECT_EQ(std::stod(parts[2]), 1e-7);
  EXPECT_EQ(parts[3], "3");
  EXPECT_EQ(std::stod(parts[4]), -2.5e20);
  EXPECT_EQ(parts[5], "0.1");  // a float prints as the float's shortest form
  EXPECT_EQ(parts[6], "9223372036854775807");
  EXPECT_EQ(parts[7], "18446744073709551615\n");
}

TEST(CsvWriter, SpecialValues) {
  std::ostringstream out;
  CsvWriter csv(out, {"nan", "inf", "empty", "null", "flag", "some"});
  csv.row(std::nan(""), -std::numeric_limits<double>::infinity(), std::optional<double>(), nullptr, true,
          std::optional<int>(7));
  EXPECT_EQ(out.str(), "nan,inf,empty,null,flag,some\nnan,-inf,,,true,7\n");
}

TEST(CsvWriter, NumericRow) {
  std::ostringstream out;
  CsvWriter csv(out, {"time_s", "kv_utilization"});
  const std::vector<double> values = {1.5, 0.25};
  csv.numeric_row(values);
  EXPECT_EQ(out.str(), "time_s,kv_utilization\n1.5,0.25\n");
}

TEST(CsvWriter, WrongArityIsAProgrammingError) {
  std::ostringstream out;
  CsvWriter csv(out, {"a", "b"});
  EXPECT_THROW(csv.row(1), std::logic_error);
  EXPECT_THROW(csv.row(1, 2, 3), std::logic_error);
  const std::vector<double> one = {1.0};
  EXPECT_THROW(csv.numeric_row(one), std::logic_error);
}

TEST(CsvWriter, FailedStreamIsReportedWithItsName) {
  std::ostringstream out;
  CsvWriter csv(out, {"a"}, "run/requests.csv");
  out.setstate(std::ios::badbit);
  try {
    csv.row(1);
    FAIL() << "expected KvsimError";
  } catch (const KvsimError& e) {
    EXPECT_NE(std::string(e.what()).find("run/requests.csv"), std::string::npos) << e.what();
  }
}

// ------------------------------------------------------------------------------------------------------------
// Atomic files and directories

TEST(AtomicOutput, WriteFileLeavesNoTemporaryFile) {
  const fs::path dir = fresh_dir("atomic_file");
  write_file_atomic(dir / "results.json", "first");
  write_file_atomic(dir / "results.json", "second, longer contents");
  EXPECT_EQ(read_file(dir / "results.json"), "second, longer contents");
  EXPECT_EQ(listing(dir), std::vector<std::string>{"results.json"});
}

TEST(AtomicOutput, WriteFileErrorNamesThePath) {
  const fs::path target = fresh_dir("atomic_file_error") / "missing-folder" / "results.json";
  try {
    write_file_atomic(target, "x");
    FAIL() << "expected KvsimError";
  } catch (const KvsimError& e) {
    EXPECT_NE(std::string(e.what()).find("missing-folder"), std::string::npos) << e.what();
  }
}

TEST(AtomicOutput, DirectoryWithoutCommitLeavesNothing) {
  const fs::path parent = fresh_dir("atomic_dir_abort");
  {
    AtomicDirectory out(parent / "run");
    EXPECT_NE(out.path(), parent / "run");
    EXPECT_EQ(out.path().parent_path(), parent);
    write_file_atomic(out.path() / "results.json", "{}");
    EXPECT_FALSE(fs::exists(parent / "run"));
  }  // e.g. the simulation threw
  EXPECT_TRUE(listing(parent).empty());
}

TEST(AtomicOutput, DirectoryCommitCreates) {
  const fs::path parent = fresh_dir("atomic_dir_create");
  AtomicDirectory out(parent / "nested" / "run");  // parents are created
  write_file_atomic(out.path() / "results.json", "{}");
  out.commit();
  EXPECT_TRUE(out.committed());
  EXPECT_EQ(out.path(), out.final_path());
  EXPECT_EQ(read_file(parent / "nested" / "run" / "results.json"), "{}");
  EXPECT_TRUE(fs::exists(parent / "nested" / "run" / kOutputMarker));
  EXPECT_EQ(listing(parent / "nested"), std::vector<std::string>{"run"});
  EXPECT_THROW(out.commit(), std::logic_error);
}

TEST(AtomicOutput, DirectoryCommitReplacesPreviousOutput) {
  const fs::path parent = fresh_dir("atomic_dir_replace");
  fs::create_directories(parent / "run" / "sub");
  write_file_atomic(parent / "run" / kOutputMarker, "");  // an earlier kvsim output
  write_file_atomic(parent / "run" / "old.csv", "old");
  write_file_atomic(parent / "run" / "sub" / "old.txt", "old");
  {
    AtomicDirectory out(parent / "run/");  // a trailing separator names the same directory
    EXPECT_EQ(out.final_path().filename(), "run");
    write_file_atomic(out.path() / "new.csv", "new");
    EXPECT_TRUE(fs::exists(parent / "run" / "old.csv"));  // untouched until commit
    out.commit();
  }
  EXPECT_EQ(listing(parent / "run"), (std::vector<std::string>{kOutputMarker, "new.csv"}));
  EXPECT_EQ(read_file(parent / "run" / "new.csv"), "new");
  EXPECT_EQ(listing(parent), std::vector<std::string>{"run"});  // no staging or old directory left
}

TEST(AtomicOutput, DirectoryRefusesAFileInTheWay) {
  const fs::path parent = fresh_dir("atomic_dir_file");
  write_file_atomic(parent / "run", "a file");
  try {
    AtomicDirectory out(parent / "run");  // refused before any work
    FAIL() << "expected KvsimError";
  } catch (const KvsimError& e) {
    EXPECT_NE(std::string(e.what()).find("not a directory"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_file(parent / "run"), "a file");
  EXPECT_EQ(listing(parent), std::vector<std::string>{"run"});
}

TEST(AtomicOutput, DirectoryNeverReplacesAUsersFolder) {
  const fs::path parent = fresh_dir("atomic_dir_user");
  fs::create_directories(parent / "notes");
  write_file_atomic(parent / "notes" / "todo.txt", "mine");
  try {
    AtomicDirectory out(parent / "notes");
    FAIL() << "expected KvsimError";
  } catch (const KvsimError& e) {
    EXPECT_NE(std::string(e.what()).find("not written by kvsim"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_file(parent / "notes" / "todo.txt"), "mine");
  fs::create_directories(parent / "empty");
  AtomicDirectory ok(parent / "empty");  // an empty folder may be used
  ok.commit();
  EXPECT_TRUE(fs::exists(parent / "empty" / kOutputMarker));
}

TEST(AtomicOutput, DirectoryRefusesTheCurrentDirectory) {
  EXPECT_THROW(AtomicDirectory("."), KvsimError);
  EXPECT_THROW(AtomicDirectory(fs::current_path().parent_path()), KvsimError);
  EXPECT_THROW(AtomicDirectory("/"), KvsimError);
}

}  // namespace
}  // namespace kvsim
