// Reading `engine.kv_tiers` (see tiers.h).
#include "sim/config/tiers.h"

#include <fmt/format.h>

#include "sim/core/units.h"

namespace kvsim {

bool tier_defaults(const std::string& kind, const GpuSpec& gpu, TierSpec& spec, std::string& source) {
  if (kind == "host") {
    // The GPU's host link per direction, as its card lists it; 256 GiB of DRAM per GPU (a DGX H100 has 2 TiB for 8).
    spec.capacity_bytes = static_cast<std::int64_t>(units::gib_to_bytes(256));
    spec.read_Bps = spec.write_Bps = gpu.pcie_bandwidth_Bps;
    spec.latency_s = 10e-6;
    source = "host DRAM over the GPU card's PCIe link (" + gpu.name +
             "); 256 GiB per GPU and 10 us per batched copy are assumptions";
    return true;
  }
  if (kind == "ssd") {
    // One PCIe 4.0 enterprise NVMe drive: Samsung PM1733 3.84 TB datasheet, 7.0 GB/s sequential read, 3.8 GB/s
    // sequential write; about 100 us per access.
    spec.capacity_bytes = static_cast<std::int64_t>(3.84e12);
    spec.read_Bps = 7.0e9;
    spec.write_Bps = 3.8e9;
    spec.latency_s = 100e-6;
    source = "one PCIe 4.0 NVMe drive (Samsung PM1733 3.84 TB datasheet: 7.0 GB/s read, 3.8 GB/s write); 100 us "
             "latency is an assumption";
    return true;
  }
  if (kind == "remote") {
    // A Mooncake-style store reached over RDMA: Mooncake's Transfer Engine moves 87 GB/s over 4 x 200 Gbps RoCE
    // (Qin et al., FAST 2025), about 22 GB/s per NIC; one NIC per GPU.
    spec.capacity_bytes = static_cast<std::int64_t>(units::gib_to_bytes(1024));
    spec.read_Bps = spec.write_Bps = 22e9;
    spec.latency_s = 50e-6;
    source = "a remote store over one 200 Gbps RDMA NIC (Mooncake Transfer Engine, FAST 2025: 87 GB/s over 4 NICs); "
             "1 TiB and 50 us per transfer are assumptions";
    return true;
  }
  return false;
}

TierSpec read_tier(ParamReader& t, const GpuSpec& gpu, const EvictionContext& eviction_ctx) {
  TierSpec spec;
  spec.name = t.require_nonempty("tier");
  std::string source = "given in the scenario";
  const bool known = tier_defaults(spec.name, gpu, spec, source);
  const auto number = [&](const std::string& k, double fallback, double scale) {
    if (!known && !t.has(k)) {
      t.check(false, k, fmt::format("required for a tier '{}' (known kinds with defaults: host, ssd, remote)",
                                    spec.name));
    }
    return t.get_positive<double>(k, fallback / scale) * scale;
  };
  spec.capacity_bytes = static_cast<std::int64_t>(
      number("capacity_GiB", static_cast<double>(spec.capacity_bytes), units::kGiB));
  spec.read_Bps = number("read_GBps", spec.read_Bps, 1e9);
  spec.write_Bps = number("write_GBps", spec.write_Bps, 1e9);
  spec.latency_s = t.get_non_negative<double>("latency_us", spec.latency_s * 1e6) * 1e-6;
  if (!known) t.check(t.has("latency_us"), "latency_us", "required for a tier of another kind");
  nlohmann::json eviction = {{"policy", "lru"}};
  if (t.has("eviction")) {
    EvictionChoice choice = read_eviction_choice(t, "eviction", eviction_ctx);
    spec.eviction = choice.make;
    eviction = choice.resolved;
  }
  t.finish();
  spec.resolved = {{"tier", spec.name},
                   {"capacity_GiB", static_cast<double>(spec.capacity_bytes) / units::kGiB},
                   {"read_GBps", spec.read_Bps / 1e9},
                   {"write_GBps", spec.write_Bps / 1e9},
                   {"latency_us", spec.latency_s * 1e6},
                   {"eviction", eviction},
                   {"source", source}};
  return spec;
}

nlohmann::json read_kv_tiers(ParamReader& engine, const std::string& key, const GpuSpec& gpu,
                             const EvictionContext& eviction_ctx, SimOptions& o) {
  if (const nlohmann::json* v = engine.raw(key); v == nullptr || v->is_null()) return nullptr;
  ParamReader sec = engine.child(key);
  nlohmann::json resolved = nlohmann::json::object();
  const nlohmann::json* list = sec.raw("tiers");
  sec.check(list != nullptr && list->is_array() && !list->empty(), "tiers",
            "must be a non-empty list of tiers, first (fastest) first, e.g. [{\"tier\": \"host\"}, {\"tier\": \"ssd\"}]");
  resolved["tiers"] = nlohmann::json::array();
  for (std::size_t i = 0; i < list->size(); ++i) {
    const nlohmann::json& item = (*list)[i];
    const std::string path = fmt::format("{}[{}]", sec.full("tiers"), i);
    if (!item.is_object()) throw KvsimError(path + ": must be an object such as {\"tier\": \"host\"}");
    ParamReader t(item, path);
    TierSpec spec = read_tier(t, gpu, eviction_ctx);
    resolved["tiers"].push_back(spec.resolved);
    o.tiers.push_back(std::move(spec));
  }
  const std::string offload = sec.get<std::string>("offload", "evicted");
  if (offload == "evicted") {
    o.tier_offload = TierOffload::kEvicted;
  } else if (offload == "finished") {
    o.tier_offload = TierOffload::kFinished;
  } else {
    sec.check(false, "offload",
              fmt::format("unknown '{}'; available: evicted (blocks the GPU evicts move down), finished (LMCache: a "
                          "finished request's prompt blocks are written down)",
                          offload));
  }
  const std::string load = sec.get<std::string>("load", "layerwise");
  sec.check(load == "layerwise" || load == "blocking", "load",
            fmt::format("unknown '{}'; available: layerwise (loads overlap compute layer by layer), blocking", load));
  o.tier_load_layerwise = load == "layerwise";
  o.tier_store_overlapped = sec.get<bool>("store_overlap", true);
  sec.finish();
  resolved["offload"] = offload;
  resolved["load"] = load;
  resolved["store_overlap"] = o.tier_store_overlapped;
  return resolved;
}

nlohmann::json read_chunk_reuse(ParamReader& engine, const std::string& key, const GpuSpec& gpu,
                                const EvictionContext& eviction_ctx, SimOptions& o) {
  if (const nlohmann::json* v = engine.raw(key); v == nullptr || v->is_null()) return nullptr;
  ParamReader sec = engine.child(key);
  ChunkReuseSpec spec;
  spec.recompute_fraction = sec.get_non_negative<double>("recompute_fraction", 0.16);
  sec.check(spec.recompute_fraction <= 1, "recompute_fraction", "must be in [0, 1]: the share of a reused chunk's "
                                                                 "tokens computed again (CacheBlend: 0.16)");
  const nlohmann::json host = {{"tier", "host"}};
  const nlohmann::json* store = sec.raw("store");
  if (store != nullptr && !store->is_object()) {
    sec.check(false, "store", "must be a tier object such as {\"tier\": \"host\", \"capacity_GiB\": 64}");
  }
  ParamReader t(store != nullptr ? *store : host, sec.full("store"));
  t.check(!t.has("eviction"), "eviction", "the chunk store evicts whole chunks, least recently used first");
  spec.store = read_tier(t, gpu, eviction_ctx);
  spec.store.resolved.erase("eviction");
  sec.finish();
  nlohmann::json resolved = {{"recompute_fraction", spec.recompute_fraction}, {"store", spec.store.resolved}};
  o.chunk_reuse = std::move(spec);
  return resolved;
}

}  // namespace kvsim
