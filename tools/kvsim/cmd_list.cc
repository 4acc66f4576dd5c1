// `kvsim list models|gpus|schedulers|cost-models|trace-formats [--json]`: print the catalogs and registries.
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/cost/kernel_cost_model.h"
#include "models/kv/strategy.h"
#include "models/spec/catalog.h"
#include "models/spec/weight_format.h"
#include "sim/core/error.h"
#include "sim/core/units.h"
#include "sim/engine/engine_profile.h"
#include "sim/cluster/router.h"
#include "sim/kv/eviction/eviction_policy.h"
#include "sim/sched/scheduler.h"
#include "tools/kvsim/commands.h"
#include "traces/trace_reader.h"

namespace kvsim::cli {

namespace {

template <class R>
nlohmann::json registry_json(const R& registry) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : registry.entries()) {
    nlohmann::json params = nlohmann::json::array();
    for (const ParamDoc& p : e.params) {
      params.push_back({{"name", p.name}, {"type", p.type}, {"default", p.default_value}, {"help", p.help}});
    }
    out.push_back({{"name", e.name}, {"description", e.description}, {"citation", e.citation}, {"params", params}});
  }
  return out;
}

template <class R>
void print_registry(const R& registry) {
  for (const auto& e : registry.entries()) {
    fmt::print("{:<16} {}\n{:<16} source: {}\n", e.name, e.description, "", e.citation);
    for (const ParamDoc& p : e.params) {
      fmt::print("{:<18}{} ({}, default {}): {}\n", "", p.name, p.type, p.default_value, p.help);
    }
  }
}

std::string attention_summary(const LlmSpec& m) {
  if (m.mla) return fmt::format("MLA latent {}+{}", m.mla->kv_lora_rank, m.mla->qk_rope_head_dim);
  const int sliding = m.num_sliding_layers();
  const std::string heads = m.num_kv_heads == m.num_attention_heads ? "MHA"
                            : m.num_kv_heads == 1                  ? "MQA"
                                                                   : fmt::format("GQA {}/{}", m.num_attention_heads,
                                                                                 m.num_kv_heads);
  if (sliding == 0) return heads;
  TokenCount w = 0;
  for (TokenCount x : m.layer_window_tokens) w = std::max(w, x);
  if (sliding == m.num_layers) return fmt::format("{}, window {}", heads, w);
  return fmt::format("{}, {} of {} layers window {}", heads, sliding, m.num_layers, w);
}

void list_models(bool json) {
  const Catalog& cat = Catalog::builtin();
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const LlmSpec& m : cat.models()) {
      nlohmann::json j = to_json(m);
      j["computed_params_billion"] = m.parameter_count() / 1e9;
      j["active_params_billion"] = m.active_parameter_count() / 1e9;
      j["kv_bytes_per_token"] = m.kv_bytes_per_token();
      out.push_back(j);
    }
    fmt::print("{}\n", out.dump(2));
    return;
  }
  fmt::print("{:<16} {:>7} {:>7} {:>6} {:>11} {:>9}  {}\n", "model", "params", "active", "layers",
             "KV B/token", "max ctx", "attention");
  for (const LlmSpec& m : cat.models()) {
    fmt::print("{:<16} {:>6.1f}B {:>6.1f}B {:>6} {:>11.0f} {:>9}  {}\n", m.name, m.parameter_count() / 1e9,
               m.active_parameter_count() / 1e9, m.num_layers, m.kv_bytes_per_token(), m.max_context_tokens,
               attention_summary(m));
  }
}

void list_gpus(bool json) {
  const Catalog& cat = Catalog::builtin();
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const GpuSpec& g : cat.gpus()) out.push_back(to_json(g));
    fmt::print("{}\n", out.dump(2));
    return;
  }
  fmt::print("{:<14} {:>8} {:>9} {:>10} {:>10} {:>9} {:>8} {:>7}\n", "gpu", "mem GiB", "HBM TB/s", "bf16 TF/s",
             "fp8 TF/s", "NVLink GB/s", "PCIe GB/s", "$/h");
  for (const GpuSpec& g : cat.gpus()) {
    const auto fp8 = g.dense_flops.find("fp8");
    fmt::print("{:<14} {:>8.1f} {:>9.2f} {:>10.0f} {:>10} {:>11.0f} {:>9.0f} {:>7.2f}\n", g.name,
               g.memory_bytes / units::kGiB, g.hbm_bandwidth_Bps / 1e12, g.flops_for("bf16") / 1e12,
               fp8 == g.dense_flops.end() ? std::string("-") : fmt::format("{:.0f}", fp8->second / 1e12),
               g.nvlink_bandwidth_Bps / 1e9, g.pcie_bandwidth_Bps / 1e9, g.price_per_hour_usd);
  }
}

nlohmann::json strategies_json() {
  nlohmann::json out = nlohmann::json::array();
  for (const KvStrategyEntry& e : kv_strategies().entries()) {
    nlohmann::json axes = nlohmann::json::array(), params = nlohmann::json::array(), quality = nlohmann::json::array();
    for (KvAxis a : e.axes) axes.push_back(axis_name(a));
    for (const ParamDoc& p : e.params) {
      params.push_back({{"name", p.name}, {"type", p.type}, {"default", p.default_value}, {"help", p.help}});
    }
    for (const ReportedQuality& q : e.reported) {
      quality.push_back({{"benchmark", q.benchmark}, {"model", q.model}, {"result", q.result}, {"source", q.source}});
    }
    out.push_back({{"name", e.name}, {"description", e.description}, {"citation", e.citation}, {"axes", axes},
                   {"params", params}, {"reported_quality", quality}});
  }
  return out;
}

void list_strategies(bool json) {
  if (json) {
    fmt::print("{}\n", strategies_json().dump(2));
    return;
  }
  for (const KvStrategyEntry& e : kv_strategies().entries()) {
    std::vector<std::string> axes;
    for (KvAxis a : e.axes) axes.emplace_back(axis_name(a));
    fmt::print("{:<16} {}\n{:<16} axes: {}; source: {}\n", e.name, e.description, "", fmt::join(axes, ", "),
               e.citation);
    for (const ParamDoc& p : e.params) {
      fmt::print("{:<18}{} ({}, default {}): {}\n", "", p.name, p.type, p.default_value, p.help);
    }
    for (const ReportedQuality& q : e.reported) {
      fmt::print("{:<18}reported by the authors: {} on {}: {} [{}]\n", "", q.benchmark, q.model, q.result, q.source);
    }
  }
}

// Weight formats: each with its storage, what its GEMMs pay, and its authors' reported quality.
void list_weight_formats(bool json) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : weight_formats().entries()) {
    const WeightStorage& w = e.factory.storage;
    out.push_back({{"name", e.name},
                   {"description", e.description},
                   {"citation", e.citation},
                   {"linear_bits", w.linear_bits},
                   {"embedding_bits", w.embedding_bits},
                   {"gemm_read_bits", w.gemm_read_bits},
                   {"fp8_tensor_cores", w.fp8_tensor_cores},
                   {"dequant_instructions_per_weight_per_tile", w.dequant_instructions},
                   {"decompress_instructions_per_weight", w.decompress_instructions},
                   {"reported_quality", e.factory.reported_quality}});
  }
  if (json) {
    fmt::print("{}\n", out.dump(2));
    return;
  }
  for (const nlohmann::json& f : out) {
    fmt::print("{:<10} {}\n{:<10} {:g} bits per linear weight, {:g} per embedding weight; source: {}\n{:<10} "
               "reported quality: {}\n",
               f["name"].get<std::string>(), f["description"].get<std::string>(), "", f["linear_bits"].get<double>(),
               f["embedding_bits"].get<double>(), f["citation"].get<std::string>(), "",
               f["reported_quality"].get<std::string>());
  }
}

}  // namespace

void add_list_command(CLI::App& app) {
  auto what = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  CLI::App* list = app.add_subcommand("list", "List the built-in catalogs and policy registries.");
  list->add_option("what", *what,
                   "models | gpus | strategies | schedulers | eviction-policies | routers | engine-profiles | "
                   "cost-models | trace-formats | weight-formats")
      ->required()
      ->check(CLI::IsMember({"models", "gpus", "strategies", "schedulers", "eviction-policies", "routers",
                             "engine-profiles", "cost-models", "trace-formats", "weight-formats"}));
  list->add_flag("--json", *json, "print JSON instead of a table");
  list->callback([what, json] {
    if (*what == "models") return list_models(*json);
    if (*what == "gpus") return list_gpus(*json);
    if (*what == "strategies") return list_strategies(*json);
    const auto show = [&](const auto& registry) {
      if (*json) {
        fmt::print("{}\n", registry_json(registry).dump(2));
      } else {
        print_registry(registry);
      }
    };
    if (*what == "schedulers") return show(schedulers());
    if (*what == "eviction-policies") return show(eviction_policies());
    if (*what == "routers") return show(routers());
    if (*what == "engine-profiles") return show(engine_profiles());
    if (*what == "cost-models") return show(cost_models());
    if (*what == "weight-formats") return list_weight_formats(*json);
    show(trace_formats());
  });
}

}  // namespace kvsim::cli
