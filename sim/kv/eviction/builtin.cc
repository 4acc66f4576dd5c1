// The eviction policies kvsim knows: the single, explicit registration list of the family, and how a scenario
// chooses one.
#include <fmt/format.h>

#include "sim/kv/eviction/policies.h"

namespace kvsim {

const EvictionRegistry& eviction_policies() {
  static const EvictionRegistry kRegistry = [] {
    EvictionRegistry r("eviction policy");
    r.add({"lru", "least recently released block first, a request's chain tail first (vLLM v1's free queue)",
           "vLLM v1 vllm/v1/core/block_pool.py (FreeKVCacheBlockQueue)", {}, make_lru});
    r.add({"lru-access",
           "leaf whose last lookup or insertion is oldest (SGLang's radix cache; the default of the sglang mode)",
           "SGLang python/sglang/srt/mem_cache/radix_cache.py (evict, LRUStrategy, last_access_time)", {},
           make_lru_access});
    r.add({"lfu", "fewest requests used the block first; ties least recently released", "classic LFU", {},
           make_lfu});
    r.add({"lru-k", "oldest K-th most recent use first; blocks used fewer than K times before all others",
           "O'Neil, O'Neil, Weikum, The LRU-K page replacement algorithm, SIGMOD 1993",
           {{"k", "int", "2", "uses remembered per block (1 = LRU), at most 8"}}, make_lru_k});
    r.add({"arc", "adaptive split between blocks used once (T1) and reused (T2), steered by ghost hits",
           "Megiddo, Modha, ARC: a self-tuning, low overhead replacement cache, FAST 2003", {}, make_arc});
    r.add({"s3fifo", "small FIFO filters one-use blocks, main FIFO with reinsertion, ghost FIFO readmits",
           "Yang et al., FIFO queues are all you need for cache eviction, SOSP 2023 (libCacheSim S3FIFO.c)",
           {{"small_fraction", "number", "0.1", "share of the cached blocks the small FIFO holds, in (0, 1]"},
            {"move_to_main_threshold", "int", "1", "uses after insertion that move a block from S to M, 1-3"}},
           make_s3fifo});
    r.add({"cost-aware",
           "GreedyDual-Size-Frequency by recompute FLOPs: uses x prefill FLOPs of the block at its depth, aged",
           "Cherkasova, GDSF, HP Labs TR 98-69, 1998; Marconi FLOP-aware eviction, MLSys 2025 (arXiv 2411.19379)",
           {}, make_cost_aware});
    return r;
  }();
  return kRegistry;
}

EvictionChoice read_eviction_choice(ParamReader& section, const std::string& key, const EvictionContext& ctx,
                                    const std::string& default_name) {
  EvictionChoice choice;
  choice.name = default_name;
  const nlohmann::json* raw = section.raw(key);
  nlohmann::json params = nlohmann::json::object();
  if (raw != nullptr && !raw->is_null()) {
    if (raw->is_string()) {
      choice.name = raw->get<std::string>();
    } else if (raw->is_object()) {
      params = *raw;
      if (!params.contains("policy") || !params["policy"].is_string()) {
        section.check(false, key, "an object needs \"policy\": one of " +
                                      fmt::format("{}", fmt::join(eviction_policies().names(), ", ")));
      }
      choice.name = params["policy"].get<std::string>();
      params.erase("policy");
    } else {
      section.check(false, key, "must be a policy name or {\"policy\": name, <its parameters>}");
    }
  }
  const auto& entry = eviction_policies().get(choice.name, section.full(key));
  // Build one policy now so that its parameters are checked (and reported) before the run.
  const std::string path = section.full(key);
  ParamReader reader(params, path);
  const auto probe = entry.factory(reader, ctx);
  reader.finish();
  choice.resolved = probe->params();
  choice.resolved["policy"] = choice.name;
  const EvictionFactory factory = entry.factory;
  choice.make = [factory, params, path, ctx] {
    ParamReader again(params, path);
    return factory(again, ctx);
  };
  return choice;
}

}  // namespace kvsim
