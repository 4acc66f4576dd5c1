// `kvsim kv-size`: the KV-cache size of one request under a strategy, per layout group, and how many such
// requests fit on a GPU.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "models/kv/kv_size.h"
#include "models/kv/strategy.h"
#include "models/spec/catalog.h"
#include "models/spec/hf_config.h"
#include "sim/config/scenario.h"
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
  struct Args {
    std::string model, strategy = "full", gpu;
    long long context = 0;
    int tp = 1, block_size = 16;
    double util = 0.9;
    std::optional<double> reserve_gib;
    long long max_batched = 8192;
    bool no_chunked = false, json = false;
  };
  auto a = std::make_shared<Args>();
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
  cmd->add_option("--model", a->model,
                  "model name (kvsim list models), or a path to a kvsim model card or a Hugging Face config.json")
      ->required();
  cmd->add_option("--strategy", a->strategy, "strategy, e.g. snapkv:budget_tokens=2048+kivi-2 (kvsim list strategies)")
      ->default_str("full");
  cmd->add_option("--context", a->context, "tokens in the request")->required()->check(integer_in(1, 1LL << 30, "tokens"));
  cmd->add_option("--gpu", a->gpu, "GPU name (kvsim list gpus) for max concurrent requests");
  cmd->add_option("--tp", a->tp, "tensor-parallel degree (it must divide the attention heads)")->check(integer_in(1, 1024))->default_str("1");
  cmd->add_option("--block-size", a->block_size, "tokens per KV page")->check(integer_in(1, 4096))->default_str("16");
  cmd->add_option("--gpu-memory-utilization", a->util, "fraction of GPU memory for the engine")
      ->check(number_in(0.01, 1.0))
      ->default_str("0.9");
  cmd->add_option("--activation-reserve-GiB", a->reserve_gib,
                  "activation memory held back from the KV pool (engine.activation_reserve_GiB; default: the "
                  "estimate kvsim run makes)")
      ->check(number_in(0, 65536, "GiB"));
  cmd->add_option("--max-num-batched-tokens", a->max_batched,
                  "tokens per engine step (engine.max_num_batched_tokens): the largest prefill chunk, and the "
                  "activation estimate")
      ->check(integer_in(1, 1LL << 24, "tokens"))
      ->default_str("8192");
  cmd->add_flag("--no-chunked-prefill", a->no_chunked,
                "the prompt is prefilled in one step (engine.chunked_prefill = false; needs --max-num-batched-tokens "
                ">= --context, as kvsim run does)");
  cmd->add_flag("--json", a->json, "print JSON");
  cmd->callback([a] {
    const Catalog& cat = Catalog::builtin();
    const std::shared_ptr<const LlmSpec> owner = resolve_model(a->model, std::filesystem::current_path(), "--model");
    const LlmSpec& model = *owner;
    if (const auto problem = tensor_parallel_problem(model, a->tp)) throw KvsimError("--tp: " + *problem);
    const ComposedStrategy s =
        compose_strategies(parse_strategy_string(a->strategy, "--strategy"), model, a->tp, a->block_size, "--strategy");
    if (a->no_chunked && a->context > a->max_batched) {
      throw KvsimError(fmt::format("--no-chunked-prefill: the {}-token prompt runs in one step, longer than "
                                   "--max-num-batched-tokens {} (kvsim run rejects it); raise "
                                   "--max-num-batched-tokens to at least --context",
                                   a->context, a->max_batched));
    }
    std::optional<double> capacity;
    if (!a->gpu.empty()) {
      const GpuSpec& gpu = cat.gpu(a->gpu, "--gpu");
      capacity = static_cast<double>(
          compute_kv_capacity(model, gpu, a->tp, a->util, a->reserve_gib, a->max_batched, 256).kv_bytes);
    }
    const KvSizeReport r = kv_size(s.layout, a->context, capacity, {!a->no_chunked, a->max_batched});
    if (a->json) {
      nlohmann::json j = to_json(r);
      j["model"] = model.name;
      j["strategy"] = s.resolved;
      j["strategy_label"] = s.label;
      j["gpu"] = a->gpu.empty() ? nlohmann::json(nullptr) : nlohmann::json(a->gpu);
      j["tensor_parallel"] = a->tp;
      j["bytes_scope"] = "per GPU";  // every *_bytes* figure; with tensor parallelism each GPU holds 1/tp of the heads
      fmt::print("{}\n", j.dump(2));
      return;
    }
    fmt::print("model {}  strategy {}  context {} tokens  tp {}  (bytes per GPU{})\n", model.name, s.label, a->context,
               a->tp, a->tp > 1 ? fmt::format(": each of the {} holds 1/{} of every token's KV heads", a->tp, a->tp)
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
      fmt::print("max concurrent         {} requests on {} ({} of KV memory)\n", *r.max_concurrent_requests, a->gpu,
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
