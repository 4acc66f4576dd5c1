// `kvsim kv-size`: the KV-cache size of one request under a strategy, per layout group, and how many such
// requests fit on a GPU.
#include <algorithm>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "sim/config/kv_size_query.h"
#include "sim/core/units.h"
#include "tools/kvsim/cli_checks.h"
#include "tools/kvsim/commands.h"

namespace kvsim::cli {

namespace {

std::string bytes_text(double b) {
  if (b >= units::kGiB) return fmt::format("{:.2f} GiB", b / units::kGiB);
  if (b >= 1024.0 * 1024) return fmt::format("{:.2f} MiB", b / (1024.0 * 1024));
  if (b >= 1024.0) return fmt::format("{:.2f} KiB", b / 1024.0);
  return fmt::format("{:.0f} B", b);
}

}  // namespace

void add_kv_size_command(CLI::App& app) {
  using L = KvSizeLimits;
  auto q = std::make_shared<KvSizeQuery>();
  auto json = std::make_shared<bool>(false);
  auto no_chunked = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "kv-size",
      "KV-cache bytes of one request of --context tokens (right after its prefill) under a strategy: per token, per\n"
      "layout group and per request (page-granular), decode bytes read per step, the peak while its prompt is\n"
      "prefilled, and with --gpu how many such requests fit while one of them is at that peak (KV memory = util x\n"
      "GPU memory - weights - activation reserve, and the peak, by the rules `kvsim run` admits requests by).\n"
      "Strategies that compress the prompt once it is complete (SnapKV, PyramidKV, H2O, windows after a dense\n"
      "prefill) compress each layer inside its forward pass in the step that completes the prompt; with chunked\n"
      "prefill (the default, as kvsim run's vllm-v1 scheduler) that step can come after a prefix of prompt - 1\n"
      "tokens held in every layer, so the peak is the whole prompt; with --no-chunked-prefill it is one layer's\n"
      "prompt plus the other layers' budgets (the reference implementations).");
  cmd->add_option("--model", q->model,
                  "model name (kvsim list models), or a path to a kvsim model card or a Hugging Face config.json")
      ->required();
  cmd->add_option("--strategy", q->strategy, "strategy, e.g. snapkv:budget_tokens=2048+kivi-2 (kvsim list strategies)")
      ->default_str("full");
  cmd->add_option("--context", q->context, "tokens in the request")
      ->required()
      ->check(integer_in(1, L::kMaxContext, "tokens"));
  cmd->add_option("--gpu", q->gpu, "GPU name (kvsim list gpus) for max concurrent requests");
  cmd->add_option("--tp", q->tensor_parallel, "tensor-parallel degree (it must divide the attention heads)")
      ->check(integer_in(1, L::kMaxTensorParallel))
      ->default_str("1");
  cmd->add_option("--block-size", q->block_size, "tokens per KV page")
      ->check(integer_in(1, L::kMaxBlockSize))
      ->default_str("16");
  cmd->add_option("--gpu-memory-utilization", q->gpu_memory_utilization, "fraction of GPU memory for the engine")
      ->check(number_in(L::kMinUtilization, L::kMaxUtilization))
      ->default_str("0.9");
  cmd->add_option("--activation-reserve-GiB", q->activation_reserve_GiB,
                  "activation memory held back from the KV pool (engine.activation_reserve_GiB; default: the "
                  "estimate kvsim run makes)")
      ->check(number_in(0, L::kMaxReserveGiB, "GiB"));
  cmd->add_option("--max-num-batched-tokens", q->max_num_batched_tokens,
                  "tokens per engine step (engine.max_num_batched_tokens): the largest prefill chunk, and the "
                  "activation estimate")
      ->check(integer_in(1, L::kMaxBatchedTokens, "tokens"))
      ->default_str("8192");
  cmd->add_flag("--no-chunked-prefill", *no_chunked,
                "the prompt is prefilled in one step (engine.chunked_prefill = false; needs --max-num-batched-tokens "
                ">= --context, as kvsim run does)");
  cmd->add_flag("--json", *json, "print JSON");
  cmd->callback([q, json, no_chunked] {
    q->chunked_prefill = !*no_chunked;
    const KvSizeOptionNames names{"--model",           "--strategy",
                                  "--gpu",             "--tp",
                                  "--no-chunked-prefill", "--max-num-batched-tokens",
                                  "--context"};
    const KvSizeAnswer a = answer_kv_size(*q, std::filesystem::current_path(), names);
    if (*json) {
      fmt::print("{}\n", to_json(a, *q).dump(2));
      return;
    }
    const KvSizeReport& r = a.report;
    const ComposedStrategy& s = a.strategy;
    fmt::print("model {}  strategy {}  context {} tokens  tp {}  (bytes per GPU{})\n", a.model->name, s.label,
               q->context, q->tensor_parallel,
               q->tensor_parallel > 1 ? fmt::format(": each of the {} holds 1/{} of every token's KV heads",
                                                    q->tensor_parallel, q->tensor_parallel)
                                      : std::string());
    fmt::print("{:<20} {:>6} {:>6} {:>14} {:>9} {:>9} {:>12}\n", "group", "caches", "reads", "B/token/layer",
               "held", "read", "bytes");
    for (const KvSizeGroup& g : r.groups) {
      fmt::print("{:<20} {:>6} {:>6} {:>14.1f} {:>9} {:>9} {:>12}\n", g.name, g.cache_layers, g.reader_layers,
                 g.bytes_per_token_per_layer, g.held_tokens, g.read_tokens, bytes_text(g.device_bytes));
    }
    fmt::print("bytes per token        {:.0f} ({})\n", r.bytes_per_token, bytes_text(r.bytes_per_token));
    fmt::print("bytes per request      {:.0f} ({})\n", r.bytes_per_request, bytes_text(r.bytes_per_request));
    if (r.host_bytes_per_request > 0) fmt::print("host bytes per request {}\n", bytes_text(r.host_bytes_per_request));
    fmt::print("decode bytes per step  {:.0f} ({})\n", r.decode_bytes_per_step, bytes_text(r.decode_bytes_per_step));
    fmt::print("prefill peak           {:.0f} ({}, {} prefill)\n", r.prefill_peak_bytes,
               bytes_text(r.prefill_peak_bytes), r.prefill.chunked ? "chunked" : "one-step");
    if (r.decode_fetch_bytes_per_step > 0) {
      fmt::print("PCIe fetch per step    {}\n", bytes_text(r.decode_fetch_bytes_per_step));
    }
    if (r.max_concurrent_requests) {
      fmt::print("max concurrent         {} requests on {} ({} of KV memory)\n", *r.max_concurrent_requests, q->gpu,
                 bytes_text(*r.kv_capacity_bytes));
      if (r.prefill_peak_bytes > *r.kv_capacity_bytes) {
        const bool compresses = std::any_of(s.layout.groups.begin(), s.layout.groups.end(),
                                            [](const KvGroup& g) { return g.compresses_prompt(); });
        fmt::print("                       the prefill peak exceeds the KV memory: kvsim run rejects such a request{}\n",
                   r.prefill.chunked && compresses ? " (with --no-chunked-prefill the peak is lower)" : "");
      }
    }
  });
}

}  // namespace kvsim::cli
