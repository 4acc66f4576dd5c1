// The KV-size calculator behind `kvsim kv-size`: what one request of `context` tokens holds and reads under a
// layout, and how many such requests fit in a given KV capacity.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/kv/kv_layout.h"

namespace kvsim {

struct KvSizeGroup {
  std::string name;
  int cache_layers = 0, reader_layers = 0;
  double bytes_per_token_per_layer = 0;  // device bytes per held token per cache layer
  TokenCount held_tokens = 0;            // tokens kept at the given context
  TokenCount read_tokens = 0;            // tokens each reader layer attends to per decode step
  double device_bytes = 0;               // page-granular, incl. fixed bytes, all cache layers
  double host_bytes = 0;
};

struct KvSizeReport {
  TokenCount context = 0;            // the request right after a prefill of `context` prompt tokens
  double bytes_per_token = 0;        // device bytes per token over all layers (a token kept by every group)
  double bytes_per_request = 0;      // device bytes of the request, page-granular, incl. fixed bytes
  double host_bytes_per_request = 0;
  double decode_bytes_per_step = 0;  // HBM bytes read by attention (incl. selection metadata) per decode step
  double decode_fetch_bytes_per_step = 0;  // PCIe bytes fetched from host per decode step
  // The most device bytes the request holds while its prompt is prefilled (KvLayout::peak_footprint, the rule
  // `kvsim run` admits requests by): above bytes_per_request for strategies that compress the prompt once it is
  // complete (budgets, windows after a dense prefill).
  double prefill_peak_bytes = 0;
  KvLayout::PrefillSteps prefill;    // the prefill the peak assumes
  std::optional<double> kv_capacity_bytes;
  // How many such requests fit while one of them is at its prefill peak: 0 if the peak exceeds the capacity (kvsim
  // run rejects the request), else 1 + floor((capacity - peak) / bytes_per_request) (floor(capacity /
  // bytes_per_request) when the peak is the request's size).
  std::optional<std::int64_t> max_concurrent_requests;
  std::vector<KvSizeGroup> groups;
};

// `kv_capacity_bytes`: KV memory of the GPU (absent: no concurrency figure). `prefill`: how the engine splits
// prompts (the defaults are kvsim run's: chunked, 8192 tokens per step).
KvSizeReport kv_size(const KvLayout& layout, TokenCount context, std::optional<double> kv_capacity_bytes,
                     const KvLayout::PrefillSteps& prefill = {});

// Per decode step of one request whose tokens in group g are `t` (KvGroup::tokens): HBM bytes attention reads
// (tokens read at the stored precision, 16-bit residual tokens at 16 bits, both times the group's read_fraction;
// selection metadata over every attended token), over all reader layers.
double decode_read_bytes(const KvGroup& g, const KvGroup::Tokens& t);
// PCIe bytes fetched per decode step for the same request (host-resident part of the tokens read), all cache layers.
double decode_fetch_bytes(const KvGroup& g, const KvGroup::Tokens& t);

nlohmann::json to_json(const KvSizeReport& r);

}  // namespace kvsim
