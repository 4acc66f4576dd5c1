// Memory tiers below the GPU (see tiers.h).
#include "sim/kv/tiers.h"

#include <stdexcept>

namespace kvsim {

KvTiers::KvTiers(std::vector<TierSpec> tiers, std::int64_t block_bytes, TierOffload offload)
    : block_bytes_(block_bytes), offload_(offload) {
  if (block_bytes <= 0) throw std::logic_error("tiers: a block needs bytes");
  for (TierSpec& spec : tiers) {
    Tier t;
    t.capacity_blocks = static_cast<std::size_t>(spec.capacity_bytes / block_bytes);
    t.cache = std::make_unique<PrefixCache>(spec.eviction ? spec.eviction() : nullptr);
    t.stats.capacity_blocks = static_cast<std::int64_t>(t.capacity_blocks);
    t.spec = std::move(spec);
    tiers_.push_back(std::move(t));
  }
  step_.load_bytes.assign(tiers_.size(), 0);
  step_.store_bytes.assign(tiers_.size(), 0);
}

std::size_t KvTiers::match(std::span<const std::uint64_t> hashes, std::size_t limit,
                           std::vector<std::uint8_t>& tier_of) const {
  tier_of.clear();
  const std::size_t n = std::min(hashes.size(), limit);
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t t = 0;
    while (t < tiers_.size() && tiers_[t].cache->find(hashes[i]) == PrefixCache::kNone) ++t;
    if (t == tiers_.size()) break;
    tier_of.push_back(static_cast<std::uint8_t>(t));
  }
  return tier_of.size();
}

namespace {
// A use of a tier's copy (a load, or a write of a block it holds already): its policy sees an access.
void use(PrefixCache& cache, BlockId b) {
  const BlockId one[] = {b};
  cache.acquire(one);
  cache.release(one);
}
}  // namespace

void KvTiers::load(std::span<const std::uint64_t> hashes, std::span<const std::uint8_t> tier_of) {
  for (std::size_t i = 0; i < tier_of.size(); ++i) {
    Tier& tier = tiers_[tier_of[i]];
    const BlockId b = tier.cache->find(hashes[i]);
    if (b == PrefixCache::kNone) throw std::logic_error("tiers: a matched block left its tier before its load");
    use(*tier.cache, b);
    tier.stats.hit_blocks++;
    tier.stats.loaded_bytes += static_cast<double>(block_bytes_);
    add_transfer(step_.load_bytes[tier_of[i]], step_.load_s, static_cast<double>(block_bytes_), tier.spec.latency_s,
                 tier.spec.read_Bps);
  }
}

void KvTiers::store(std::span<const PrefixCache::Evicted> blocks) {
  if (tiers_.empty()) return;
  for (const PrefixCache::Evicted& e : blocks) store_into(0, e);
}

void KvTiers::store_into(std::size_t t, const PrefixCache::Evicted& block) {
  Tier& tier = tiers_[t];
  if (tier.capacity_blocks == 0) return;
  const BlockId present = tier.cache->find(block.hash);
  if (present != PrefixCache::kNone) {  // a copy is there already: refresh it
    use(*tier.cache, present);
    return;
  }
  if (tier.cache->cached() >= tier.capacity_blocks) {
    victims_.clear();
    tier.cache->evict(1, &victims_);
    const PrefixCache::Evicted victim = victims_.front();
    if (t + 1 < tiers_.size()) {
      tier.stats.demoted_blocks++;
      store_into(t + 1, victim);
    } else {
      tier.stats.dropped_blocks++;
    }
  }
  tier.cache->insert_detached(block.hash, block.depth);
  tier.stats.stored_blocks++;
  tier.stats.stored_bytes += static_cast<double>(block_bytes_);
  add_transfer(step_.store_bytes[t], step_.store_s, static_cast<double>(block_bytes_), tier.spec.latency_s,
               tier.spec.write_Bps);
}

KvTiers::Stats KvTiers::stats(std::size_t t) const {
  Stats s = tiers_[t].stats;
  s.cached_blocks = static_cast<std::int64_t>(tiers_[t].cache->cached());
  return s;
}

void KvTiers::check_invariants() const {
  for (const Tier& t : tiers_) {
    t.cache->check_invariants({});
    if (t.cache->cached() > t.capacity_blocks) throw std::logic_error("tiers: a tier holds more than its capacity");
    if (t.cache->referenced() != 0) throw std::logic_error("tiers: a tier's copy is referenced");
  }
}

}  // namespace kvsim
