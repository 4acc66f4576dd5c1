// Run directory writer (see run_output.h).
#include "tools/kvsim/run_output.h"

#include "reports/html_report.h"
#include "sim/core/error.h"

namespace kvsim {

RunOutput::RunOutput(const std::filesystem::path& dir, const PreparedRun& run)
    : dir_(dir), cluster_(run.sim.replicas > 1) {
  for (const ClassSlo& c : run.classes) classes_.push_back(c.name);
  requests_file_.open(dir_.path() / "requests.csv");
  timeline_file_.open(dir_.path() / "timeline.csv");
  if (!requests_file_ || !timeline_file_) throw KvsimError(dir_.path().string() + ": cannot create output files");
  std::vector<std::string> columns{"request_id", "arrival_s", "prompt_tokens", "output_tokens", "status", "queue_s",
                                   "ttft_s", "tpot_s", "e2e_s", "max_itl_s", "preemptions", "reject_reason"};
  if (cluster_) columns.insert(columns.end(), {"replica", "transfer_s"});
  if (!classes_.empty()) columns.push_back("class");
  requests_ = std::make_unique<CsvWriter>(requests_file_, columns, "requests.csv");
  timeline_ = std::make_unique<CsvWriter>(
      timeline_file_,
      std::vector<std::string>{"time_s", "kv_utilization", "kv_utilization_max", "running", "waiting", "batch_size",
                               "batch_tokens", "preemptions", "prefix_lookup_tokens", "prefix_hit_tokens",
                               "prefix_tier_hit_tokens"},
      "timeline.csv");
}

void RunOutput::on_request_finished(const RequestRecord& r) {
  // The columns every run has, then the cluster's, then the class.
  const auto with_class = [&](const auto&... cells) {
    if (classes_.empty()) {
      requests_->row(cells...);
    } else {
      requests_->row(cells..., classes_.at(r.request_class));
    }
  };
  const auto write = [&](const auto&... cells) {
    if (cluster_) {
      with_class(cells..., r.replica, r.transfer_s);
    } else {
      with_class(cells...);
    }
  };
  if (r.completed) {
    write(r.id, r.arrival_s, r.prompt_tokens, r.output_tokens, "completed", r.queue_s, r.ttft_s, r.tpot_s, r.e2e_s,
          r.max_itl_s, r.preemptions, "");
  } else {
    write(r.id, r.arrival_s, r.prompt_tokens, r.output_tokens, r.timed_out ? "timed_out" : "rejected", nullptr,
          nullptr, nullptr, nullptr, nullptr, r.preemptions, r.reject_reason);
  }
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
