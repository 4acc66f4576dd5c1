// Routers: which replica of a cluster serves each arriving request (hardware.replicas > 1). One registry
// (routers(), sim/cluster/routers.cc), one file per policy in sim/cluster/impl/.
//
// A router decides from what a real router can know when the request arrives: the request itself (its session, its
// prompt) and each replica's load as last reported, `router.state_delay_s` old at most (0: the load now). Each
// policy's description says which of those signals it reads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "sim/core/param_reader.h"
#include "sim/core/registry.h"
#include "sim/engine/replica.h"
#include "traces/trace_record.h"

namespace kvsim {

// What a router sees of the cluster.
class ClusterView {
 public:
  virtual ~ClusterView() = default;
  // Every replica's load as the router last heard of it (at most router.state_delay_s old), by replica index.
  virtual std::span<const ReplicaLoad> loads() = 0;
  // Prompt tokens of the request being routed that `replica`'s GPU prefix cache holds now (whole blocks, as its
  // admission would find them; 0 without prefix caching or content). A router learns this as llm-d's precise
  // prefix-cache scorer and Dynamo's KV router do, from the engines' KV events (block stored / removed), which
  // arrive within milliseconds: it is read live, not state_delay_s old.
  virtual TokenCount cached_prefix_tokens(std::int32_t replica) = 0;
};

class IRouter {
 public:
  virtual ~IRouter() = default;
  // The replica (0 .. replicas - 1) that serves `request`, which arrives now.
  virtual std::int32_t route(const TraceRecord& request, ClusterView& cluster) = 0;
};

// Builds a router for `replicas` replicas from its parameters; `seed` seeds the randomized ones.
using RouterFactory =
    std::function<std::unique_ptr<IRouter>(ParamReader& params, std::int32_t replicas, std::uint64_t seed)>;
using RouterRegistry = Registry<RouterFactory>;
const RouterRegistry& routers();

// The router a scenario chose: `router.policy` = "name[:key=value,...]" (as KV strategies are written), with
// `router.state_delay_s`; make() builds it for a run, `resolved` is the choice with every parameter in force.
struct RouterChoice {
  std::string name;
  std::function<std::unique_ptr<IRouter>()> make;
  double state_delay_s = 0;
  nlohmann::json resolved;
};
// Reads the `router` section for a cluster of `replicas`; errors name the key and list the policies.
RouterChoice read_router(ParamReader& section, std::int32_t replicas, std::uint64_t seed,
                         const std::string& default_policy = "round-robin");

}  // namespace kvsim
