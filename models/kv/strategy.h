// KV-cache strategies: named, parameterised transformations of a model's KV layout, composable across axes.
// One implementation per file in models/kv/strategies/, registered in models/kv/strategies/builtin.cc.
//
// Contract for IKvStrategy::apply():
//  - Reads nothing but the layout and the context; changes only what its axes own (a retention strategy sets
//    retention fields, a precision strategy bits and metadata, ...), on every group it applies to.
//  - Throws KvsimError naming the strategy and the reason for impossible combinations (e.g. MLA on a model without
//    an MLA card, a window larger than a budget it must fit, cross-layer sharing with a factor above the layer count).
//  - Parameters are read in the factory through ParamReader (strict: unknown keys are errors listing the valid ones).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/kv/kv_layout.h"
#include "models/spec/llm_spec.h"
#include "sim/core/param_reader.h"
#include "sim/core/registry.h"

namespace kvsim {

// The independent axes of kv-strategies.md §6. Strategies on different axes compose; two strategies on the same
// axis are rejected. Application order follows this enum.
enum class KvAxis : std::uint8_t { kSharing, kWidth, kRetention, kPrecision, kPlacement, kTraffic };
std::string_view axis_name(KvAxis a);

// A quality effect as the strategy's authors report it (never simulated by kvsim).
struct ReportedQuality {
  std::string benchmark;  // "LongBench (16 tasks)", "RULER 128K", "Wikitext-2 PPL"
  std::string model;      // "LWM-Text-Chat-1M"
  std::string result;     // "comparable to full KV at 2048 tokens", "+0.08 PPL"
  std::string source;     // "arXiv 2404.14469, abstract"
};

struct StrategyContext {
  const LlmSpec& model;
  int tensor_parallel = 1;
};

class IKvStrategy {
 public:
  virtual ~IKvStrategy() = default;
  virtual void apply(KvLayout& layout, const StrategyContext& ctx) const = 0;
  // The parameters in force (defaults filled in), for the resolved scenario and the reports.
  virtual nlohmann::json params() const = 0;
  // How this strategy, with these parameters, departs from its reference implementation or leaves work unpriced;
  // listed in every run's `approximations` and report.
  virtual std::vector<std::string> approximations() const { return {}; }
};

using KvStrategyFactory = std::function<std::unique_ptr<IKvStrategy>(ParamReader& params)>;

struct KvStrategyEntry {
  std::string name;
  std::string description;
  std::string citation;
  std::vector<KvAxis> axes;               // first = the axis that orders it
  std::vector<ParamDoc> params;
  std::vector<ReportedQuality> reported;
  KvStrategyFactory factory;
  // The model's own cache (full, mla): composing it changes nothing by design. Any other strategy that leaves the
  // layout unchanged is an error (it would silently equal its baseline, e.g. snapkv on a model whose layers are all
  // sliding windows).
  bool is_model_cache = false;
};

class KvStrategyRegistry {
 public:
  void add(KvStrategyEntry e);
  const KvStrategyEntry* find(std::string_view name) const;
  const KvStrategyEntry& get(std::string_view name, std::string_view where) const;  // throws listing names
  const std::vector<KvStrategyEntry>& entries() const { return entries_; }

 private:
  std::vector<KvStrategyEntry> entries_;
};

const KvStrategyRegistry& kv_strategies();

// One strategy of a composition with its parameters (as given: JSON object without "name").
struct StrategySpec {
  std::string name;
  nlohmann::json params = nlohmann::json::object();
};

// Parses the command-line / string form "name[:key=value,...][+name[:...]]" (values parsed as JSON when valid).
std::vector<StrategySpec> parse_strategy_string(const std::string& text, const std::string& where);
// Parses the scenario form: a string (as above), an object {"strategy": name, params...} handled by the caller,
// or a list of strings / objects {"name": ..., params...}.
std::vector<StrategySpec> parse_strategy_json(const nlohmann::json& value, const std::string& where);

// A composed strategy: the layout of `model` under every strategy of `specs`, plus what the report shows.
struct ComposedStrategy {
  KvLayout layout;
  std::string label;                       // "snapkv:budget_tokens=2048+kivi-2"
  std::vector<const KvStrategyEntry*> entries;
  nlohmann::json resolved;                 // [{"name":..., params with defaults}]
  std::vector<std::string> approximations; // "<strategy>: ...", from each strategy in application order
};

// Builds the layout. Throws KvsimError for unknown names or parameters (listing the valid ones), for two
// strategies on the same axis, and for a strategy that changes nothing on this model (naming what the model's
// layers keep). `where` names the scenario key or flag in messages.
ComposedStrategy compose_strategies(const std::vector<StrategySpec>& specs, const LlmSpec& model, int tp,
                                    TokenCount block_size, const std::string& where);

}  // namespace kvsim
