// Unit tests of the comparison report (reports/comparison_report.h).
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "reports/atomic_output.h"
#include "reports/comparison_report.h"
#include "sim/core/error.h"
#include "tests/reports/sample_results.h"

namespace kvsim {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using test::ComparisonKind;
using test::sample_comparison;
using test::count;
using test::lower;


const std::string kDataOpen = "<script type=\"application/json\" id=\"kvsim-comparison-data\">";

// The text of the embedded chart-data element.
std::string embedded_data(const std::string& html) {
  const std::size_t start = html.find(kDataOpen);
  EXPECT_NE(start, std::string::npos);
  if (start == std::string::npos) return {};
  const std::size_t body = start + kDataOpen.size();
  return html.substr(body, html.find("</script>", body) - body);
}

// One <section id="...">...</section> of the page ("" when absent).
std::string section(const std::string& html, const std::string& id) {
  const std::size_t start = html.find("<section id=\"" + id + "\"");
  if (start == std::string::npos) return {};
  return html.substr(start, html.find("</section>", start) + 10 - start);
}

// A results document with the fields the ratio test needs; nullopt-like values are left out.
json tiny_results(const std::string& strategy, double out_tps, double ttft_p99, long long capacity, double bytes_per_token,
                  long long preemptions) {
  return {{"kvsim_version", "0.1.0"},
          {"scenario", {{"model", "llama-3.1-8b"}, {"hardware", {{"gpu", "h100-sxm"}}}}},
          {"summary",
           {{"requests", {{"arrived", 100}, {"completed", 100}, {"rejected", 0}}},
            {"throughput", {{"requests_per_s", 2.0}, {"output_tokens_per_s", out_tps}}},
            {"ttft_s", {{"p99", ttft_p99}}},
            {"kv",
             {{"strategy", strategy}, {"capacity_tokens", capacity}, {"bytes_per_token", bytes_per_token},
              {"preemptions", preemptions}}}}}};
}

json two_variants() {
  json b = tiny_results("full", 500, 2.0, 1000, 131072, 10);
  json v = tiny_results("fp8", 920, 1.0, 2000, 65536, 0);
  v["summary"]["tpot_s"] = {{"p99", 0.02}};  // only the second variant has it: no ratio, nothing highlighted
  return {{"title", "two"}, {"variants", {{{"name", "base"}, {"dir", "base"}, {"results", b}},
                                          {{"name", "cheap"}, {"dir", "cheap"}, {"results", v}}}}};
}

TEST(ComparisonReport, NamesEveryVariant) {
  for (ComparisonKind kind : {ComparisonKind::kNormal, ComparisonKind::kMany}) {
    const json c = sample_comparison(kind);
    const std::string html = render_comparison_report(c);
    for (const json& v : c["variants"]) {
      const std::string name = v["name"].get<std::string>();
      // Variants table, summary head, chart legend, cost head and links, at least.
      EXPECT_GE(count(html, ">" + name + "<"), 5u) << name;
    }
    EXPECT_NE(html.find("<dt>Variants</dt><dd>" + std::to_string(c["variants"].size()) + "</dd>"), std::string::npos);
  }
  const std::string html = render_comparison_report(sample_comparison());
  for (const char* needle :
       {"<title>kvsim comparison: KV-cache strategies on Llama-3.1-8B, synthetic chat traffic</title>",
        "The reference scenario replayed once per KV-cache strategy.", "<dd>llama-3.1-8b</dd>", "<dd>h100-sxm</dd>",
        "synthetic (arrival=poisson", "<dd>0.1.0</dd>", "<dt>Baseline</dt><dd>full</dd>", "id=\"summary\"",
        "id=\"chart-ttft\"", "id=\"chart-e2e\"", "id=\"chart-tpot\"", "id=\"chart-kv\"", "id=\"chart-batch\"",
        "id=\"chart-throughput\"", "id=\"chart-cost\"", "id=\"cost-table\"", "<code>kv.quantize</code>",
        "id=\"approximations\"", "href=\"fp8/report.html\"", "href=\"kivi-2/report.html\"", "id=\"js-errors\""}) {
    EXPECT_NE(html.find(needle), std::string::npos) << needle;
  }
}

TEST(ComparisonReport, LoadsNothingFromTheNetworkAndEmbedsOnlyChartData) {
  const json c = sample_comparison();
  const std::string html = render_comparison_report(c);
  const std::string low = lower(html);
  for (const char* bad : {"src=\"http", "href=\"http", "@import", "url(http", "<link", "<iframe", "src=\"//",
                          "href=\"//"}) {
    EXPECT_EQ(low.find(bad), std::string::npos) << bad;
  }
  EXPECT_EQ(count(low, "<script"), 4u);  // error handler, chart data, Chart.js, page script
  EXPECT_EQ(count(low, "</script"), 4u);
  EXPECT_NE(html.find("Chart.js v3"), std::string::npos);

  const json data = json::parse(embedded_data(html));
  ASSERT_EQ(data["variants"].size(), 3u);
  EXPECT_EQ(data["variants"][1]["name"], "fp8");
  EXPECT_EQ(data["variants"][1]["distributions"]["ttft_s"], c["variants"][1]["results"]["distributions"]["ttft_s"]);
  EXPECT_EQ(data["variants"][0]["timeline"]["columns"], json({"time_s", "kv_utilization", "batch_size"}));
  EXPECT_EQ(data["variants"][0]["timeline"]["rows"].size(), c["variants"][0]["results"]["timeline"]["rows"].size());
  EXPECT_EQ(data["variants"][0]["color"], "#2563eb");
  // Not the whole results: no scenario, model card or reported quality in the page's data.
  EXPECT_EQ(data["variants"][0].count("results"), 0u);
  EXPECT_EQ(embedded_data(html).find("almost the same quality"), std::string::npos);
}

TEST(ComparisonReport, ReportedQualityOnlyInItsOwnSection) {
  const std::string html = render_comparison_report(sample_comparison());
  const std::string heading = "Reported quality (as published by the authors \u2014 not simulated)";
  EXPECT_EQ(count(html, heading), 1u);
  const std::string quality = section(html, "reported-quality");
  ASSERT_FALSE(quality.empty());
  EXPECT_NE(quality.find("<h2>" + heading + "</h2>"), std::string::npos);
  EXPECT_NE(quality.find("Not a kvsim result"), std::string::npos);
  // Its rows: once in the whole page, inside the section, never in the simulated summary.
  for (const char* row : {"almost the same quality as 16-bit", "LongBench and generation tasks",
                          "2.6x less peak memory (incl. weights), 2.35x-3.47x throughput", "arXiv 2402.02750 abstract"}) {
    EXPECT_NE(quality.find(row), std::string::npos) << row;
    EXPECT_EQ(section(html, "summary").find(row), std::string::npos) << row;
    EXPECT_EQ(count(html, row), row == std::string("arXiv 2402.02750 abstract") ? 2u : 1u) << row;
  }
  // One row per distinct entry; kivi-2's entries listed once each, by the variant that carries them.
  EXPECT_EQ(count(quality, "<tr><td><code>kivi-2</code>"), 2u);
  EXPECT_NE(quality.find("No reported figures for: full, fp8."), std::string::npos);
  // The section comes after every simulated section.
  EXPECT_GT(html.find("id=\"reported-quality\""), html.find("id=\"cost\""));

  // Two variants carrying the same entry list it once, naming both.
  json c = sample_comparison();
  c["variants"][1]["results"]["reported_quality"] = c["variants"][2]["results"]["reported_quality"];
  const std::string shared = section(render_comparison_report(c), "reported-quality");
  EXPECT_EQ(count(shared, "almost the same quality as 16-bit"), 1u);
  EXPECT_NE(shared.find("<span class=\"nowrap\">fp8</span>, <span class=\"nowrap\">kivi-2</span>"),
            std::string::npos);

  // No variant with reported figures: the section still says what it is and that there is nothing.
  json none = two_variants();
  const std::string empty = section(render_comparison_report(none), "reported-quality");
  EXPECT_NE(empty.find(heading), std::string::npos);
  EXPECT_NE(empty.find("None of the variants carries reported quality figures."), std::string::npos);
}

TEST(ComparisonReport, EscapesHostileStrings) {
  const std::string html = render_comparison_report(sample_comparison(ComparisonKind::kHostile));
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_NE(html.find("fp8 &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;"), std::string::npos);
  EXPECT_NE(html.find("kivi&lt;/SCRIPT&gt;&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("LongBench &lt;b&gt;bold&lt;/b&gt; &amp; co"), std::string::npos);
  EXPECT_NE(html.find("&lt;/script&gt;&lt;script&gt;alert(&#39;q&#39;)&lt;/script&gt;"), std::string::npos);
  // Exactly four script elements, each closed once, and no comment opened by a string.
  EXPECT_EQ(count(lower(html), "<script"), 4u);
  EXPECT_EQ(count(lower(html), "</script"), 4u);
  const std::string data = embedded_data(html);
  EXPECT_EQ(data.find('<'), std::string::npos);
  EXPECT_EQ(json::parse(data)["variants"][2]["name"], "kivi</SCRIPT><script>alert(1)</script>");
  // A folder cannot become a URL scheme: the link stays relative, percent-encoded.
  EXPECT_EQ(lower(html).find("href=\"javascript:"), std::string::npos);
  EXPECT_NE(html.find("href=\"javascript%3Aalert%28%27dir%27%29/report.html\""), std::string::npos);
}

TEST(ComparisonReport, RatiosToTheBaselineAndBestValues) {
  const std::string html = render_comparison_report(two_variants());
  const std::string summary = section(html, "summary");
  // Output throughput 920 vs 500 tok/s: 1.84x, higher is better.
  EXPECT_NE(summary.find("<td class=\"num\">500 tok/s</td><td class=\"num best\">920 tok/s"
                         "<span class=\"ratio\">1.84x</span></td>"),
            std::string::npos);
  // TTFT p99 1 s vs 2 s: 0.500x, lower is better.
  EXPECT_NE(summary.find("<td class=\"num\">2.00 s</td><td class=\"num best\">1.00 s<span class=\"ratio\">0.500x"
                         "</span></td>"),
            std::string::npos);
  EXPECT_NE(summary.find("<td class=\"num\">1,000</td><td class=\"num best\">2,000<span class=\"ratio\">"
                         "2.00x</span></td>"),
            std::string::npos);
  EXPECT_NE(summary.find("<td class=\"num\">128 KiB</td><td class=\"num best\">64.0 KiB<span class=\"ratio\">0.500x"
                         "</span></td>"),
            std::string::npos);
  EXPECT_NE(summary.find("<td class=\"num\">10</td><td class=\"num best\">0<span class=\"ratio\">0x</span></td>"),
            std::string::npos);
  // Requests per second equal: nothing highlighted; ratio 1.00x.
  EXPECT_NE(summary.find("<td class=\"num\">2.00 req/s</td><td class=\"num\">2.00 req/s<span class=\"ratio\">1.00x"
                         "</span></td>"),
            std::string::npos);
  // Only the second variant has TPOT p99: a dash for the baseline, no ratio, no highlight.
  EXPECT_NE(summary.find("<td class=\"num\">\u2014</td><td class=\"num\">20.0 ms</td>"), std::string::npos);
  // Strategy labels side by side.
  EXPECT_NE(summary.find("<code>full</code>"), std::string::npos);
  EXPECT_NE(summary.find("<code>fp8</code>"), std::string::npos);
}

TEST(ComparisonReport, EqualLookingValuesAreEquallyBest) {
  json c = two_variants();
  c["variants"].push_back(c["variants"][1]);
  c["variants"][2]["name"] = "cheap too";
  c["variants"][2]["results"]["summary"]["throughput"]["output_tokens_per_s"] = 920.2;  // shown as 920 tok/s too
  const std::string summary = section(render_comparison_report(c), "summary");
  EXPECT_EQ(count(summary, "<td class=\"num best\">920 tok/s"), 2u);
}

TEST(ComparisonReport, MissingAndNullValues) {
  const std::string minimal = render_comparison_report(sample_comparison(ComparisonKind::kMinimal));
  EXPECT_NE(minimal.find(">variant 2<"), std::string::npos);  // a variant without a name
  EXPECT_EQ(minimal.find("class=\"num best\""), std::string::npos);
  EXPECT_EQ(minimal.find("id=\"chart-cost\""), std::string::npos);
  EXPECT_NE(minimal.find("The results hold no cost breakdown."), std::string::npos);
  EXPECT_NE(minimal.find("The results list no approximations."), std::string::npos);
  EXPECT_NE(minimal.find("<dt>Model</dt><dd>\u2014</dd>"), std::string::npos);
  EXPECT_GT(count(section(minimal, "summary"), "<td class=\"num\">\u2014</td>"), 40u);
  EXPECT_NE(section(minimal, "reports").find("\u2014"), std::string::npos);  // no folder: no link

  // Wrong types anywhere do not break rendering.
  json odd = sample_comparison();
  odd["variants"].push_back(nullptr);
  odd["variants"].push_back("a string");
  odd["variants"][0]["results"]["summary"]["kv"] = "not an object";
  odd["variants"][0]["results"]["cost_breakdown"] = json::array({json::object(), {{"op", 3}, {"seconds", "x"}}});
  odd["variants"][1]["results"]["timeline"]["rows"] = 5;
  odd["variants"][1]["results"]["distributions"]["ttft_s"] = "x";
  odd["variants"][2]["results"]["reported_quality"] = json::array({1, nullptr, {{"strategy", 2}}});
  odd["variants"][2]["results"]["approximations"] = json::array({1, nullptr, "text"});
  odd["title"] = nullptr;
  odd["description"] = 7;
  EXPECT_NO_THROW(render_comparison_report(odd));
  EXPECT_NO_THROW(render_comparison_report(json::object()));
  EXPECT_NO_THROW(render_comparison_report({{"variants", "not a list"}}));
  EXPECT_NE(render_comparison_report(json::object()).find("The comparison holds no variants."), std::string::npos);
  EXPECT_THROW(render_comparison_report(json::array()), KvsimError);
  EXPECT_THROW(render_comparison_report(nullptr), KvsimError);
}

TEST(ComparisonReport, OneVariantAndTenVariants) {
  json one = sample_comparison();
  one["variants"] = json::array({one["variants"][0]});
  const std::string html = render_comparison_report(one);
  EXPECT_EQ(html.find("class=\"num best\""), std::string::npos);  // nothing to compare with
  EXPECT_EQ(html.find("class=\"ratio\">1.00x"), std::string::npos);
  EXPECT_NE(html.find("<dt>Variants</dt><dd>1</dd>"), std::string::npos);

  const std::string many = render_comparison_report(sample_comparison(ComparisonKind::kMany));
  const json data = json::parse(embedded_data(many));
  ASSERT_EQ(data["variants"].size(), 10u);
  // The palette goes round: the ninth variant has the first one's colour, drawn dashed.
  EXPECT_EQ(data["variants"][8]["color"], data["variants"][0]["color"]);
  EXPECT_TRUE(data["variants"][0]["dash"].empty());
  EXPECT_FALSE(data["variants"][8]["dash"].empty());
  EXPECT_NE(data["variants"][1]["color"], data["variants"][0]["color"]);
  EXPECT_NE(many.find("border-top-style:dashed"), std::string::npos);
}

TEST(ComparisonReport, ApproximationsAreMergedAndLinksRelative) {
  const std::string html = render_comparison_report(sample_comparison());
  const std::string approx = section(html, "approximations");
  // Listed by all three variants: once, without names.
  EXPECT_EQ(count(approx, "Sampling and detokenization are a fixed per-iteration overhead."), 1u);
  EXPECT_NE(approx.find("<li>Sampling and detokenization are a fixed per-iteration overhead.</li>"), std::string::npos);
  // Listed by two of them: named.
  EXPECT_NE(approx.find("Quantization runs as a separate memory-bound kernel on append. <span class=\"only\">(fp8, "
                        "kivi-2)</span>"),
            std::string::npos);

  json c = sample_comparison();
  c["variants"][0]["dir"] = "/abs/full";
  c["variants"][1]["dir"] = "runs/fp8 v2";
  const std::string links = section(render_comparison_report(c), "reports");
  EXPECT_EQ(links.find("/abs/full"), std::string::npos);
  EXPECT_NE(links.find("href=\"runs/fp8%20v2/report.html\""), std::string::npos);
}

TEST(ComparisonReport, IsDeterministic) {
  EXPECT_EQ(render_comparison_report(sample_comparison(ComparisonKind::kMany)),
            render_comparison_report(sample_comparison(ComparisonKind::kMany)));
}

TEST(ComparisonReport, WritesASampleForPeople) {
  // Not a check: leaves build/test-output/reports/comparison/report.html to open in a browser.
  const fs::path dir = fs::path(KVSIM_BINARY_DIR) / "test-output" / "reports" / "comparison";
  fs::create_directories(dir);
  write_file_atomic(dir / "report.html", render_comparison_report(sample_comparison()));
  EXPECT_TRUE(fs::exists(dir / "report.html"));
}

}  // namespace
}  // namespace kvsim
