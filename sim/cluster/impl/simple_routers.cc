// Routers that read only the request and the replicas' reported loads (see simple_routers.h).
#include "sim/cluster/impl/simple_routers.h"

namespace kvsim {

namespace {
// The lowest-index replica minimizing `key` (a callable on ReplicaLoad returning something ordered).
template <class Key>
std::int32_t argmin(std::span<const ReplicaLoad> loads, Key key) {
  std::int32_t best = 0;
  for (std::int32_t i = 1; i < static_cast<std::int32_t>(loads.size()); ++i) {
    if (key(loads[static_cast<std::size_t>(i)]) < key(loads[static_cast<std::size_t>(best)])) best = i;
  }
  return best;
}

// FNV-1a: a hash that is the same on every platform and run (std::hash is neither).
std::uint64_t stable_hash(const std::string& s) {
  std::uint64_t h = 14695981039346656037ULL;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}
}  // namespace

std::int32_t RoundRobinRouter::route(const TraceRecord&, ClusterView&) {
  const std::int32_t r = next_;
  next_ = (next_ + 1) % replicas_;
  return r;
}

std::int32_t RandomRouter::route(const TraceRecord&, ClusterView&) {
  return static_cast<std::int32_t>(rng_() % static_cast<std::uint64_t>(replicas_));
}

std::int32_t LeastOutstandingRouter::route(const TraceRecord&, ClusterView& cluster) {
  return argmin(cluster.loads(), [](const ReplicaLoad& l) { return l.outstanding; });
}

std::int32_t LeastKvRouter::route(const TraceRecord&, ClusterView& cluster) {
  return argmin(cluster.loads(), [](const ReplicaLoad& l) { return std::pair(l.kv_utilization, l.outstanding); });
}

std::int32_t PowerOfTwoRouter::route(const TraceRecord&, ClusterView& cluster) {
  const auto n = static_cast<std::uint64_t>(replicas_);
  const auto a = static_cast<std::int32_t>(rng_() % n);
  // A second replica, distinct from the first.
  const auto b = static_cast<std::int32_t>((static_cast<std::uint64_t>(a) + 1 + rng_() % (n - 1)) % n);
  const std::span<const ReplicaLoad> loads = cluster.loads();
  const std::int64_t la = loads[static_cast<std::size_t>(a)].outstanding;
  const std::int64_t lb = loads[static_cast<std::size_t>(b)].outstanding;
  return lb < la || (lb == la && b < a) ? b : a;
}

std::int32_t SessionAffinityRouter::route(const TraceRecord& request, ClusterView& cluster) {
  if (request.session_id.empty()) return in_turn_.route(request, cluster);
  return static_cast<std::int32_t>(stable_hash(request.session_id) % static_cast<std::uint64_t>(replicas_));
}

}  // namespace kvsim
