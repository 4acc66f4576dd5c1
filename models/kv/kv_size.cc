// KV-size calculator (see kv_size.h).
#include "models/kv/kv_size.h"

#include <algorithm>
#include <cmath>

namespace kvsim {

double decode_read_bytes(const KvGroup& g, const KvGroup::Tokens& t) {
  // Token sums are over cache layers; every reader layer reads its cache (readers / caches per cache).
  const double readers_per_cache = static_cast<double>(g.reader_layers) / g.cache_layers;
  const double premium = std::max(0.0, g.full_bytes_per_token() - g.stored_bytes_per_token());
  return readers_per_cache * (g.read_fraction * (t.read * g.stored_bytes_per_token() + t.residual_read * premium) +
                               t.attended * g.select_bytes_per_token);
}

double decode_fetch_bytes(const KvGroup& g, const KvGroup::Tokens& t) {
  return t.read * g.host_bytes_per_token() * (1.0 - g.fetch_hit_rate);
}

KvSizeReport kv_size(const KvLayout& layout, TokenCount context, std::optional<double> kv_capacity_bytes,
                     const KvLayout::PrefillSteps& prefill) {
  KvSizeReport r;
  r.context = context;
  r.prefill = prefill;
  r.bytes_per_token = layout.device_bytes_per_token();
  for (std::size_t i = 0; i < layout.groups.size(); ++i) {
    const KvGroup& g = layout.groups[i];
    KvSizeGroup out;
    out.name = g.name;
    out.cache_layers = g.cache_layers;
    out.reader_layers = g.reader_layers;
    out.bytes_per_token_per_layer = g.device_bytes_per_token();
    const KvGroup::Tokens t = g.priced_tokens(context, context);
    out.held_tokens = static_cast<TokenCount>(std::llround(t.held / g.cache_layers));   // mean per cache layer
    out.read_tokens = static_cast<TokenCount>(std::llround(t.read / g.cache_layers));
    out.device_bytes =
        static_cast<double>(layout.group_device_bytes(i, g.pages_sum(context, context, 0, layout.block_size)));
    out.host_bytes = t.held * g.host_bytes_per_token();
    r.bytes_per_request += out.device_bytes;
    r.host_bytes_per_request += out.host_bytes;
    // One decode step right after the prefill: the new token attends to the held tokens plus itself.
    r.decode_bytes_per_step += decode_read_bytes(g, t);
    r.decode_fetch_bytes_per_step += decode_fetch_bytes(g, t);
    r.groups.push_back(out);
  }
  r.prefill_peak_bytes =
      static_cast<double>(layout.peak_footprint(context, context, prefill).device_bytes);
  if (kv_capacity_bytes) {
    r.kv_capacity_bytes = kv_capacity_bytes;
    const double cap = *kv_capacity_bytes;
    const double peak = std::max(r.prefill_peak_bytes, r.bytes_per_request);
    if (peak > cap || r.bytes_per_request <= 0) {
      r.max_concurrent_requests = 0;
    } else {
      r.max_concurrent_requests = 1 + static_cast<std::int64_t>(std::floor((cap - peak) / r.bytes_per_request));
    }
  }
  return r;
}

nlohmann::json to_json(const KvSizeReport& r) {
  nlohmann::json groups = nlohmann::json::array();
  for (const KvSizeGroup& g : r.groups) {
    groups.push_back({{"name", g.name},
                      {"cache_layers", g.cache_layers},
                      {"reader_layers", g.reader_layers},
                      {"bytes_per_token_per_layer", g.bytes_per_token_per_layer},
                      {"held_tokens", g.held_tokens},
                      {"read_tokens", g.read_tokens},
                      {"device_bytes", g.device_bytes},
                      {"host_bytes", g.host_bytes}});
  }
  nlohmann::json j = {{"context_tokens", r.context},
                      {"bytes_per_token", r.bytes_per_token},
                      {"bytes_per_request", r.bytes_per_request},
                      {"host_bytes_per_request", r.host_bytes_per_request},
                      {"decode_bytes_per_step", r.decode_bytes_per_step},
                      {"decode_fetch_bytes_per_step", r.decode_fetch_bytes_per_step},
                      {"prefill_peak_bytes", r.prefill_peak_bytes},
                      {"chunked_prefill", r.prefill.chunked},
                      {"max_num_batched_tokens", r.prefill.max_step_tokens},
                      {"groups", groups}};
  j["kv_capacity_bytes"] = r.kv_capacity_bytes ? nlohmann::json(*r.kv_capacity_bytes) : nlohmann::json(nullptr);
  j["max_concurrent_requests"] =
      r.max_concurrent_requests ? nlohmann::json(*r.max_concurrent_requests) : nlohmann::json(nullptr);
  return j;
}

}  // namespace kvsim
