// Strategy registry, parsing and composition (see strategy.h).
#include "models/kv/strategy.h"

#include <algorithm>

#include <fmt/format.h>

namespace kvsim {

std::string_view axis_name(KvAxis a) {
  switch (a) {
    case KvAxis::kSharing: return "sharing (layers / heads)";
    case KvAxis::kWidth: return "width (channels / rank)";
    case KvAxis::kRetention: return "retention (tokens kept)";
    case KvAxis::kPrecision: return "precision (bits)";
    case KvAxis::kPlacement: return "placement (device / host)";
    case KvAxis::kTraffic: return "traffic (tokens read per step)";
  }
  return "?";
}

void KvStrategyRegistry::add(KvStrategyEntry e) {
  if (find(e.name) != nullptr) throw std::logic_error("duplicate KV strategy " + e.name);
  entries_.push_back(std::move(e));
}

const KvStrategyEntry* KvStrategyRegistry::find(std::string_view name) const {
  for (const KvStrategyEntry& e : entries_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

const KvStrategyEntry& KvStrategyRegistry::get(std::string_view name, std::string_view where) const {
  if (const KvStrategyEntry* e = find(name)) return *e;
  std::vector<std::string> names;
  for (const KvStrategyEntry& e : entries_) names.push_back(e.name);
  throw KvsimError(fmt::format("{}: unknown KV strategy '{}'; available: {}", where, name, fmt::join(names, ", ")));
}

std::vector<StrategySpec> parse_strategy_string(const std::string& text, const std::string& where) {
  std::vector<StrategySpec> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t plus = text.find('+', start);
    const std::string part = text.substr(start, plus == std::string::npos ? std::string::npos : plus - start);
    if (part.empty()) throw KvsimError(fmt::format("{}: empty strategy in '{}'", where, text));
    StrategySpec spec;
    const std::size_t colon = part.find(':');
    spec.name = part.substr(0, colon);
    if (colon != std::string::npos) {
      std::size_t p = colon + 1;
      while (p <= part.size()) {
        const std::size_t comma = part.find(',', p);
        const std::string kv = part.substr(p, comma == std::string::npos ? std::string::npos : comma - p);
        const std::size_t eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) {
          throw KvsimError(fmt::format("{}: '{}' in '{}': expected key=value, e.g. snapkv:budget_tokens=2048", where,
                                       kv, text));
        }
        nlohmann::json value = nlohmann::json::parse(kv.substr(eq + 1), nullptr, false);
        if (value.is_discarded()) value = kv.substr(eq + 1);
        if (spec.params.contains(kv.substr(0, eq))) {
          throw KvsimError(fmt::format("{}: parameter '{}' is given twice in '{}'", where, kv.substr(0, eq),
                                       quoted_input(text, 200)));
        }
        spec.params[kv.substr(0, eq)] = value;
        if (comma == std::string::npos) break;
        p = comma + 1;
      }
    }
    out.push_back(std::move(spec));
    if (plus == std::string::npos) break;
    start = plus + 1;
  }
  return out;
}

std::vector<StrategySpec> parse_strategy_json(const nlohmann::json& value, const std::string& where) {
  if (value.is_string()) return parse_strategy_string(value.get<std::string>(), where);
  if (!value.is_array()) {
    throw KvsimError(fmt::format("{}: expected a strategy name, a 'name:key=value+name' string or a list, got {}",
                                 where, value.dump()));
  }
  if (value.empty()) {
    throw KvsimError(fmt::format("{}: an empty list; expected at least one strategy (\"full\" for none)", where));
  }
  std::vector<StrategySpec> out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const nlohmann::json& item = value[i];
    const std::string item_where = fmt::format("{}[{}]", where, i);
    if (item.is_string()) {
      for (StrategySpec& s : parse_strategy_string(item.get<std::string>(), item_where)) out.push_back(std::move(s));
    } else if (item.is_object() && item.contains("name") && item["name"].is_string()) {
      StrategySpec s;
      s.name = item["name"].get<std::string>();
      s.params = item;
      s.params.erase("name");
      out.push_back(std::move(s));
    } else {
      throw KvsimError(fmt::format("{}: expected a strategy name or an object with \"name\", got {}", item_where,
                                   item.dump()));
    }
  }
  return out;
}

namespace {

// "32 layers: window 4096" / "8 layers: all tokens; 24 layers: window 1024", for messages.
std::string describe_groups(const std::vector<KvGroup>& groups) {
  std::string out;
  for (const KvGroup& g : groups) {
    if (!out.empty()) out += "; ";
    out += fmt::format("{} layers ({}): ", g.reader_layers, g.name);
    switch (g.retention) {
      case Retention::kAll: out += "every token"; break;
      case Retention::kWindow: out += fmt::format("a window of {} tokens", g.sink_tokens + g.window_tokens); break;
      default: out += fmt::format("{} retention", retention_name(g.retention)); break;
    }
    out += fmt::format(" at {} bits", g.k_bits);
  }
  return out;
}

}  // namespace

ComposedStrategy compose_strategies(const std::vector<StrategySpec>& specs, const LlmSpec& model, int tp,
                                    TokenCount block_size, const std::string& where) {
  struct Built {
    const KvStrategyEntry* entry;
    std::unique_ptr<IKvStrategy> strategy;
  };
  std::vector<Built> built;
  for (const StrategySpec& spec : specs) {
    const KvStrategyEntry& e = kv_strategies().get(spec.name, where);
    ParamReader params(spec.params, where + "." + spec.name);
    built.push_back({&e, e.factory(params)});
    params.finish();
  }
  // Two strategies on one axis cannot both decide it.
  for (std::size_t i = 0; i < built.size(); ++i) {
    for (std::size_t j = i + 1; j < built.size(); ++j) {
      for (KvAxis a : built[i].entry->axes) {
        const auto& other = built[j].entry->axes;
        if (std::find(other.begin(), other.end(), a) != other.end()) {
          throw KvsimError(fmt::format(
              "{}: '{}' and '{}' both set the {} axis and cannot be combined; compose strategies that act on "
              "different axes (sharing, width, retention, precision, placement, traffic)",
              where, built[i].entry->name, built[j].entry->name, axis_name(a)));
        }
      }
    }
  }
  std::stable_sort(built.begin(), built.end(),
                   [](const Built& a, const Built& b) { return a.entry->axes.front() < b.entry->axes.front(); });
  ComposedStrategy out;
  out.layout = base_layout(model, tp, block_size);
  out.resolved = nlohmann::json::array();
  const StrategyContext ctx{model, tp};
  for (const Built& b : built) {
    const std::vector<KvGroup> before = out.layout.groups;
    const bool fused_before = out.layout.fused_dequant;
    b.strategy->apply(out.layout, ctx);
    if (!b.entry->is_model_cache && out.layout.groups == before && out.layout.fused_dequant == fused_before) {
      throw KvsimError(fmt::format("{}: strategy '{}' has no effect on {} (its KV layout: {}); retention, traffic "
                                   "and placement strategies act only on layers that keep every token, precision "
                                   "strategies only on a cache wider than they store",
                                   where, b.entry->name, model.name, describe_groups(before)));
    }
    out.layout.strategies.push_back(b.entry->name);
    for (const std::string& a : b.strategy->approximations()) out.approximations.push_back(b.entry->name + ": " + a);
    out.entries.push_back(b.entry);
    nlohmann::json r = {{"name", b.entry->name}};
    r.update(b.strategy->params());
    out.resolved.push_back(r);
  }
  out.layout.prepare();
  // The label is the composition as the user wrote it.
  for (const StrategySpec& spec : specs) {
    if (!out.label.empty()) out.label += "+";
    out.label += spec.name;
    std::string sep = ":";
    for (auto it = spec.params.begin(); it != spec.params.end(); ++it) {
      out.label += sep + it.key() + "=" + (it.value().is_string() ? it.value().get<std::string>() : it.value().dump());
      sep = ",";
    }
  }
  if (out.label.empty()) out.label = "full";
  return out;
}

}  // namespace kvsim
