// Run directory writer (see run_output.h).
#include "tools/kvsim/run_output.h"

#include "reports/html_report.h"
#include "sim/core/error.h"

namespace kvsim {

RunOutput::RunOutput(const std::filesystem::path& dir, const PreparedRun& run)
    : dir_(dir), table_(request_table(run)) {
  requests_file_.open(dir_.path() / "requests.csv");
  timeline_file_.open(dir_.path() / "timeline.csv");
  if (!requests_file_ || !timeline_file_) throw KvsimError(dir_.path().string() + ": cannot create output files");
  requests_ = std::make_unique<CsvWriter>(requests_file_, table_.columns(), "requests.csv");
  timeline_ = std::make_unique<CsvWriter>(
      timeline_file_,
      std::vector<std::string>{"time_s", "kv_utilization", "kv_utilization_max", "running", "waiting", "batch_size",
                               "batch_tokens", "preemptions", "prefix_lookup_tokens", "prefix_hit_tokens",
                               "prefix_tier_hit_tokens"},
      "timeline.csv");
}

void RunOutput::on_request_finished(const RequestRecord& r) {
  table_.cells(r, [&](const auto&... cells) { requests_->row(cells...); });
}

void RunOutput::on_timeline_sample(const TimelineSample& t) {
  timeline_->row(t.time_s, t.kv_utilization, t.kv_utilization_max, t.running, t.waiting, t.batch_size,
                 t.batch_tokens, t.preemptions, t.prefix_lookup_tokens, t.prefix_hit_tokens, t.prefix_tier_hit_tokens);
}

void RunOutput::commit(const nlohmann::json& results) {
  requests_->flush();
  timeline_->flush();
  requests_file_.close();
  timeline_file_.close();
  write_file_atomic(dir_.path() / "results.json", results.dump(2) + "\n");
  write_file_atomic(dir_.path() / "scenario.json", results.at("scenario").dump(2) + "\n");
  write_file_atomic(dir_.path() / "report.html", render_html_report(results));
  dir_.commit();
}

}  // namespace kvsim
