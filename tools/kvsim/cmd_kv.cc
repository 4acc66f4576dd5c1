// `kvsim kv-size`: the KV-cache size of one request under a strategy, per layout group, and how many such
// requests fit on a GPU.
#include <memory>
#include <string>

#include <fmt/format.h>

#include "models/kv/kv_size.h"
#include "models/kv/strategy.h"
#include "models/spec/catalog.h"
#include "sim/config/scenario.h"
#include "sim/core/units.h"
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
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "kv-size",
      "KV-cache bytes of one request of --context tokens (right after its prefill) under a strategy: per token, per\n"
      "layout group and per request (page-granular), decode bytes read per step, and with --gpu the number of such\n"
      "requests that fit (KV memory = util x GPU memory - weights - activation estimate, as in `kvsim run`).");
  cmd->add_option("--model", a->model, "model name (kvsim list models)")->required();
  cmd->add_option("--strategy", a->strategy, "strategy, e.g. snapkv:budget_tokens=2048+kivi-2 (kvsim list strategies)")
      ->default_str("full");
  cmd->add_option("--context", a->context, "tokens in the request")->required()->check(CLI::PositiveNumber);
  cmd->add_option("--gpu", a->gpu, "GPU name (kvsim list gpus) for max concurrent requests");
  cmd->add_option("--tp", a->tp, "tensor-parallel degree")->check(CLI::PositiveNumber)->default_str("1");
  cmd->add_option("--block-size", a->block_size, "tokens per KV page")->check(CLI::PositiveNumber)->default_str("16");
  cmd->add_option("--gpu-memory-utilization", a->util, "fraction of GPU memory for the engine")
      ->check(CLI::Range(0.01, 1.0))
      ->default_str("0.9");
  cmd->add_flag("--json", a->json, "print JSON");
  cmd->callback([a] {
    const Catalog& cat = Catalog::builtin();
    const LlmSpec& model = cat.model(a->model, "--model");
    const ComposedStrategy s =
        compose_strategies(parse_strategy_string(a->strategy, "--strategy"), model, a->tp, a->block_size, "--strategy");
    std::optional<double> capacity;
    if (!a->gpu.empty()) {
      const GpuSpec& gpu = cat.gpu(a->gpu, "--gpu");
      capacity = static_cast<double>(
          compute_kv_capacity(model, gpu, a->tp, a->util, std::nullopt, 8192, 256).kv_bytes);
    }
    const KvSizeReport r = kv_size(s.layout, a->context, capacity);
    if (a->json) {
      nlohmann::json j = to_json(r);
      j["model"] = model.name;
      j["strategy"] = s.resolved;
      j["strategy_label"] = s.label;
      j["gpu"] = a->gpu.empty() ? nlohmann::json(nullptr) : nlohmann::json(a->gpu);
      j["tensor_parallel"] = a->tp;
      fmt::print("{}\n", j.dump(2));
      return;
    }
    fmt::print("model {}  strategy {}  context {} tokens  tp {}\n", model.name, s.label, a->context, a->tp);
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
    if (r.decode_fetch_bytes_per_step > 0) {
      fmt::print("PCIe fetch per step    {}\n", bytes_text(r.decode_fetch_bytes_per_step));
    }
    if (r.max_concurrent_requests) {
      fmt::print("max concurrent         {} requests on {} ({} of KV memory)\n", *r.max_concurrent_requests, a->gpu,
                 bytes_text(*r.kv_capacity_bytes));
    }
  });
}

}  // namespace kvsim::cli
