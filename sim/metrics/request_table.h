// The per-request table of a run: requests.csv's columns and each request's cells, in one place for every writer
// (the run directory's requests.csv, the Python module's list of dicts or DataFrame).
//
// Columns: every run's (request_id ... reject_reason), then, for a cluster (hardware.replicas > 1), the replica and
// the KV transfer time under disaggregation, then, with request classes (workload.classes), the class name.
// A request that did not complete has no latencies (empty cells / None) and its status is rejected or timed_out.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "sim/metrics/observer.h"

namespace kvsim {

class RequestTable {
 public:
  // `cluster`: more than one replica; `classes`: the class names by index (empty without classes).
  RequestTable(bool cluster, std::vector<std::string> classes) : cluster_(cluster), classes_(std::move(classes)) {}

  std::vector<std::string> columns() const {
    std::vector<std::string> c{"request_id", "arrival_s", "prompt_tokens", "output_tokens", "status", "queue_s",
                               "ttft_s", "tpot_s", "e2e_s", "max_itl_s", "preemptions", "reject_reason"};
    if (cluster_) c.insert(c.end(), {"replica", "transfer_s"});
    if (!classes_.empty()) c.push_back("class");
    return c;
  }

  // Calls `emit(cells...)` once with r's cells in column order: integers, doubles, std::optional<double>,
  // const char*, std::string, or nullptr for an empty cell.
  template <class Emit>
  void cells(const RequestRecord& r, Emit&& emit) const {
    const auto with_class = [&](const auto&... c) {
      if (classes_.empty()) {
        emit(c...);
      } else {
        emit(c..., classes_.at(r.request_class));
      }
    };
    const auto with_cluster = [&](const auto&... c) {
      if (cluster_) {
        with_class(c..., r.replica, r.transfer_s);
      } else {
        with_class(c...);
      }
    };
    if (r.completed) {
      with_cluster(r.id, r.arrival_s, r.prompt_tokens, r.output_tokens, "completed", r.queue_s, r.ttft_s, r.tpot_s,
                   r.e2e_s, r.max_itl_s, r.preemptions, "");
    } else {
      with_cluster(r.id, r.arrival_s, r.prompt_tokens, r.output_tokens, r.timed_out ? "timed_out" : "rejected",
                   nullptr, nullptr, nullptr, nullptr, nullptr, r.preemptions, r.reject_reason);
    }
  }

 private:
  bool cluster_;
  std::vector<std::string> classes_;
};

}  // namespace kvsim
