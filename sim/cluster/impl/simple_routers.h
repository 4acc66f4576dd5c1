// The routers that read only the request and the replicas' reported loads (see each class). Registered in
// sim/cluster/routers.cc.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "sim/cluster/router.h"

namespace kvsim {

// Replicas in turn, whatever their load (NGINX / Kubernetes Service default). Reads nothing.
class RoundRobinRouter final : public IRouter {
 public:
  explicit RoundRobinRouter(std::int32_t replicas) : replicas_(replicas) {}
  std::int32_t route(const TraceRecord&, ClusterView&) override;

 private:
  std::int32_t replicas_, next_ = 0;
};

// A uniformly random replica (seeded). Reads nothing.
class RandomRouter final : public IRouter {
 public:
  RandomRouter(std::int32_t replicas, std::uint64_t seed) : replicas_(replicas), rng_(seed) {}
  std::int32_t route(const TraceRecord&, ClusterView&) override;

 private:
  std::int32_t replicas_;
  std::mt19937_64 rng_;
};

// The replica with the fewest outstanding requests (waiting + running), lowest index on ties (vLLM production
// stack's and llm-d's load scorers). Reads: outstanding requests.
class LeastOutstandingRouter final : public IRouter {
 public:
  std::int32_t route(const TraceRecord&, ClusterView& cluster) override;
};

// The replica with the lowest KV-cache utilization, then fewest outstanding (llm-d's KV-cache utilization scorer).
// Reads: KV utilization, outstanding requests.
class LeastKvRouter final : public IRouter {
 public:
  std::int32_t route(const TraceRecord&, ClusterView& cluster) override;
};

// Two distinct random replicas, the one with fewer outstanding requests (Mitzenmacher, "The Power of Two Choices in
// Randomized Load Balancing", IEEE TPDS 2001). Reads: outstanding requests of the two.
class PowerOfTwoRouter final : public IRouter {
 public:
  PowerOfTwoRouter(std::int32_t replicas, std::uint64_t seed) : replicas_(replicas), rng_(seed) {}
  std::int32_t route(const TraceRecord&, ClusterView& cluster) override;

 private:
  std::int32_t replicas_;
  std::mt19937_64 rng_;
};

// A session's turns to one replica (a stable hash of the session id), so that its history stays in that replica's
// prefix cache (sticky sessions, as llm-d's session-affinity scorer); requests without a session in turn. Reads:
// the session id.
class SessionAffinityRouter final : public IRouter {
 public:
  explicit SessionAffinityRouter(std::int32_t replicas) : replicas_(replicas), in_turn_(replicas) {}
  std::int32_t route(const TraceRecord& request, ClusterView& cluster) override;

 private:
  std::int32_t replicas_;
  RoundRobinRouter in_turn_;  // requests without a session
};

}  // namespace kvsim
