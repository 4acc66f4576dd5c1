// Measured serving runs, request by request, for `kvsim validate`: what a real engine's benchmark recorded, read
// strictly (a missing or malformed field is an error naming the file, the line or request, and the key).
//
// Formats (measured_run_formats()):
//   llmservingsim  LLMServingSim's vLLM runs, vllm/requests.jsonl: one object per request with input_toks,
//                  output_toks, queued_ts, scheduled_ts, first_token_ts, last_token_ts (engine clock, seconds).
//                  TTFT = first - queued, E2E = last - queued, TPOT = (last - first) / (output - 1), queue =
//                  scheduled - queued (the anchors of its summary_recomputed.csv).
//   vllm-bench     `vllm bench serve --save-result` JSON: input_lens, output_lens, ttfts, itls (one list per
//                  request) and errors; E2E = TTFT + the sum of the request's ITLs, TPOT = that sum / (output - 1)
//                  as vLLM computes it; requests with an error are failed; no queue delay.
//   kvsim          a kvsim run's requests.csv: completed rows, their queue_s, ttft_s, tpot_s, e2e_s; other rows
//                  (rejected, timed out) are failed.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/types.h"

namespace kvsim {

struct MeasuredRequest {
  TokenCount prompt_tokens = 0, output_tokens = 0;
  std::optional<double> ttft_s, tpot_s, e2e_s, queue_s;  // seconds; tpot none for one output token
};

struct MeasuredRun {
  std::string format;
  std::vector<MeasuredRequest> requests;  // the successful ones, in file order
  std::size_t failed = 0;                 // requests the file records as failed (not compared)
  std::optional<double> span_s;           // first arrival to last token, where the file says
};

const std::vector<std::string>& measured_run_formats();
// Reads `path` in `format` (one of measured_run_formats()). Throws KvsimError naming the file (and line or
// request) and the key for anything missing or invalid, and for a file with no successful request.
MeasuredRun read_measured_run(const std::filesystem::path& path, const std::string& format);

}  // namespace kvsim
