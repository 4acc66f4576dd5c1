// `kvsim run --trace-events FILE`: the run as a Chrome / Perfetto trace (the Trace Event Format's JSON object form,
// open it at ui.perfetto.dev or chrome://tracing). One process per replica ("replica N"): a thread "iterations"
// with one complete slice per engine iteration (args: prefills, decodes, tokens, preemptions, and each op's time in
// ms from the cost model), and each request as an async slice from its arrival to its last token, with nested
// "queued" (arrival to first scheduled) and "to first token" slices; rejected requests as instant events.
// Timestamps in microseconds of simulated time.
//
// Streamed while the run goes into `<FILE>.tmp-<pid>`, renamed to FILE by commit(); without commit() (a failed or
// interrupted run) the partial file is removed. Large: about 300 bytes per iteration and per request.
#pragma once

#include <cstdio>
#include <filesystem>
#include <set>
#include <string>

#include "sim/metrics/observer.h"

namespace kvsim {

class TraceEventWriter final : public ISimObserver {
 public:
  explicit TraceEventWriter(std::filesystem::path path);
  ~TraceEventWriter() override;
  TraceEventWriter(const TraceEventWriter&) = delete;
  TraceEventWriter& operator=(const TraceEventWriter&) = delete;

  void on_request_finished(const RequestRecord& r) override;
  void on_iteration(const IterationRecord& it) override;
  // Closes the JSON and puts the file in place; throws KvsimError if it cannot be written.
  void commit();

 private:
  void event(const std::string& json);  // one element of traceEvents
  void name_replica(std::int32_t replica);
  std::filesystem::path final_, tmp_;
  std::FILE* out_ = nullptr;
  bool first_ = true, committed_ = false;
  std::set<std::int32_t> named_;  // replicas whose process has its name event
};

}  // namespace kvsim
