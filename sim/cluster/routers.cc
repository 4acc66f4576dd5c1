// The routers kvsim knows: the single, explicit registration list of the family, and the `router` section.
#include <cmath>

#include <fmt/format.h>

#include "models/kv/strategy.h"
#include "sim/cluster/impl/prefix_aware.h"
#include "sim/cluster/impl/simple_routers.h"
#include "sim/cluster/router.h"

namespace kvsim {

const RouterRegistry& routers() {
  static const RouterRegistry kRegistry = [] {
    RouterRegistry r("router");
    r.add({"round-robin", "replicas in turn, whatever their load; reads nothing",
           "NGINX upstream / Kubernetes Service default", {},
           [](ParamReader&, std::int32_t n, std::uint64_t) -> std::unique_ptr<IRouter> {
             return std::make_unique<RoundRobinRouter>(n);
           }});
    r.add({"random", "a uniformly random replica (seeded by the scenario's seed); reads nothing",
           "the baseline of Mitzenmacher, IEEE TPDS 2001", {},
           [](ParamReader&, std::int32_t n, std::uint64_t seed) -> std::unique_ptr<IRouter> {
             return std::make_unique<RandomRouter>(n, seed);
           }});
    r.add({"least-outstanding",
           "the replica with the fewest outstanding (waiting + running) requests, lowest index on ties; reads "
           "outstanding requests",
           "vLLM production-stack router, llm-d load-aware scorer", {},
           [](ParamReader&, std::int32_t, std::uint64_t) -> std::unique_ptr<IRouter> {
             return std::make_unique<LeastOutstandingRouter>();
           }});
    r.add({"least-kv",
           "the replica with the lowest KV-cache utilization, then the fewest outstanding requests; reads KV "
           "utilization and outstanding requests",
           "llm-d kv-cache-utilization scorer", {},
           [](ParamReader&, std::int32_t, std::uint64_t) -> std::unique_ptr<IRouter> {
             return std::make_unique<LeastKvRouter>();
           }});
    r.add({"power-of-two",
           "two distinct random replicas (seeded), the one with fewer outstanding requests; reads their outstanding "
           "requests",
           "Mitzenmacher, The Power of Two Choices in Randomized Load Balancing, IEEE TPDS 2001", {},
           [](ParamReader&, std::int32_t n, std::uint64_t seed) -> std::unique_ptr<IRouter> {
             return std::make_unique<PowerOfTwoRouter>(n, seed);
           }});
    r.add({"session-affinity",
           "a session's turns to one replica (stable hash of the session id), requests without a session in turn; "
           "reads the session id",
           "sticky sessions; llm-d session-affinity scorer", {},
           [](ParamReader&, std::int32_t n, std::uint64_t) -> std::unique_ptr<IRouter> {
             return std::make_unique<SessionAffinityRouter>(n);
           }});
    r.add({"prefix-aware",
           "the replica whose GPU cache holds most of the prompt, against its load: cached fraction - load_weight x "
           "outstanding / most outstanding; reads each replica's cached prefix (live, as from KV events) and "
           "outstanding requests",
           "llm-d precise prefix-cache scorer + load scorer; NVIDIA Dynamo KV-aware router",
           PrefixAwareRouter::docs(),
           [](ParamReader& p, std::int32_t, std::uint64_t) -> std::unique_ptr<IRouter> {
             const double w = p.get<double>("load_weight", 0.5);
             p.check(std::isfinite(w) && w >= 0 && w <= 1e6, "load_weight", "expected a number >= 0");
             return std::make_unique<PrefixAwareRouter>(w);
           }});
    return r;
  }();
  return kRegistry;
}

RouterChoice read_router(ParamReader& section, std::int32_t replicas, std::uint64_t seed,
                         const std::string& default_policy) {
  RouterChoice choice;
  const std::string text = section.get<std::string>("policy", default_policy);
  const std::string where = section.full("policy");
  const std::vector<StrategySpec> specs = parse_strategy_string(text, where);
  if (specs.size() != 1) {
    throw KvsimError(fmt::format("{}: one router, not a composition ('{}'); available: {}", where, text,
                                 fmt::join(routers().names(), ", ")));
  }
  choice.name = specs.front().name;
  const auto& entry = routers().get(choice.name, where);
  choice.state_delay_s = section.get<double>("state_delay_s", 0.0);
  section.check(std::isfinite(choice.state_delay_s) && choice.state_delay_s >= 0 && choice.state_delay_s <= 3600,
                "state_delay_s", "expected seconds in [0, 3600]");
  const nlohmann::json params = specs.front().params;
  // Build one router now so that its parameters are checked before the run.
  ParamReader probe(params, where);
  (void)entry.factory(probe, replicas, seed);
  probe.finish();
  choice.resolved = {{"policy", text}, {"state_delay_s", choice.state_delay_s}};
  const RouterFactory factory = entry.factory;
  choice.make = [factory, params, where, replicas, seed] {
    ParamReader again(params, where);
    return factory(again, replicas, seed);
  };
  return choice;
}

}  // namespace kvsim
