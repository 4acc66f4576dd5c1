// Helpers for engine tests: write a small kvsim JSONL trace, run a scenario with invariant checks on, and keep
// every per-request record.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "sim/config/scenario.h"
#include "sim/engine/results.h"

namespace kvsim::testing {

// A scratch folder of this test process: CTest runs test cases as parallel processes, and two of them writing the
// same trace name at once would read each other's half-written files.
inline std::filesystem::path test_dir(const std::string& name) {
  return std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()));
}

// One KV group of one layer whose 16-token pages cost exactly 1000 bytes (62.5 B per token), for KvManager tests.
inline KvLayout thousand_byte_pages() {
  KvLayout l;
  l.block_size = 16;
  KvGroup g;
  g.name = "all";
  g.cache_layers = g.reader_layers = 1;
  g.k_elems = g.v_elems = 15.625;
  l.groups.push_back(g);
  return l;
}

struct Req {
  double arrival_s;
  long long prompt, output;
};

inline std::filesystem::path write_trace(const std::string& name, const std::vector<Req>& reqs) {
  const auto dir = test_dir("kvsim-engine-tests");
  std::filesystem::create_directories(dir);
  const auto path = dir / (name + ".jsonl");
  std::ofstream out(path);
  for (const Req& r : reqs) {
    out << nlohmann::json{{"arrival_s", r.arrival_s}, {"prompt_tokens", r.prompt}, {"output_tokens", r.output}}.dump()
        << "\n";
  }
  return path;
}

// A request with content ids, one per 512-token block (Mooncake-style), for prefix-caching tests.
struct Row {
  double arrival_s;
  long long prompt, output;
  std::vector<std::uint64_t> ids;  // one per 512 tokens; empty: no content
};

inline std::filesystem::path write_rows(const std::string& name, const std::vector<Row>& rows) {
  const auto dir = test_dir("kvsim-content-tests");
  std::filesystem::create_directories(dir);
  const auto path = dir / (name + ".jsonl");
  std::ofstream out(path);
  for (const Row& r : rows) {
    nlohmann::json j = {{"arrival_s", r.arrival_s}, {"prompt_tokens", r.prompt}, {"output_tokens", r.output}};
    if (!r.ids.empty()) {
      j["hash_ids"] = r.ids;
      j["hash_block_tokens"] = 512;
    }
    out << j.dump() << "\n";
  }
  return path;
}

inline nlohmann::json base_scenario(const std::filesystem::path& trace) {
  return {{"model", "llama-3.1-8b"},
          {"hardware", {{"gpu", "h100-sxm"}}},
          {"engine", {{"check_invariants", true}}},
          {"workload", {{"trace", {{"path", trace.string()}, {"format", "jsonl"}}}}},
          {"seed", 1}};
}

struct Captured final : ISimObserver {
  std::vector<RequestRecord> records;
  void on_request_finished(const RequestRecord& r) override { records.push_back(r); }
};

struct Outcome {
  nlohmann::json results;
  RunSummary summary;
  std::vector<RequestRecord> records;  // in completion order
  const RequestRecord& by_id(RequestId id) const {
    for (const RequestRecord& r : records) {
      if (r.id == id) return r;
    }
    throw std::out_of_range("no record");
  }
};

// Runs `doc`, keeping every request record; `extra` observers see the run too.
inline Outcome run_scenario(const nlohmann::json& doc, std::vector<ISimObserver*> extra = {}) {
  PreparedRun run = prepare_run(doc, std::filesystem::temp_directory_path());
  Captured cap;
  Outcome o;
  extra.push_back(&cap);
  o.results = run_prepared(run, extra, &o.summary);
  o.records = std::move(cap.records);
  return o;
}

}  // namespace kvsim::testing
