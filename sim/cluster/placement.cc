// Collective links of a placed replica (see placement.h).
#include "sim/cluster/placement.h"

#include <algorithm>
#include <limits>
#include <string>

namespace kvsim {

namespace {

struct Slowest {
  double Bps = std::numeric_limits<double>::infinity();
  double latency_s = 0;
  std::string link_class;
  // Takes the path from `a` to `b` into account.
  void add(const Topology& t, std::size_t a, std::size_t b) {
    const Topology::Path p = t.path(a, b);
    latency_s = std::max(latency_s, p.latency_s);
    for (const std::size_t l : p.links) {
      const Topology::Link& link = t.links()[l];
      if (link.bandwidth_Bps < Bps) {
        Bps = link.bandwidth_Bps;
        link_class = link.link_class;
      }
    }
  }
  // Every GPU to the next, around the ring.
  void ring(const Topology& t, const std::vector<std::size_t>& gpus) {
    if (gpus.size() < 2) return;
    for (std::size_t i = 0; i < gpus.size(); ++i) add(t, gpus[i], gpus[(i + 1) % gpus.size()]);
  }
  void put(double card_Bps, double& Bps_out, double& latency_out, std::string& class_out) const {
    if (link_class.empty()) return;  // no path: a single GPU
    class_out = link_class;
    if (Bps < card_Bps) {
      Bps_out = Bps;
      latency_out = latency_s;
    }
  }
};

}  // namespace

IterationCostModel::Links replica_links(const Topology& topology, const std::vector<std::size_t>& gpus,
                                        const std::vector<std::size_t>& expert_group, int tp, int pp,
                                        double card_link_Bps) {
  IterationCostModel::Links out;
  const auto stage = [&](int s) {
    return std::vector<std::size_t>(gpus.begin() + s * tp, gpus.begin() + (s + 1) * tp);
  };
  Slowest tensor, pipeline, expert;
  for (int s = 0; s < pp; ++s) tensor.ring(topology, stage(s));
  for (int s = 0; s + 1 < pp; ++s) pipeline.add(topology, gpus[static_cast<std::size_t>(s * tp)],
                                                gpus[static_cast<std::size_t>((s + 1) * tp)]);
  expert.ring(topology, expert_group);
  tensor.put(card_link_Bps, out.tp_Bps, out.tp_latency_s, out.tp_class);
  pipeline.put(card_link_Bps, out.pp_Bps, out.pp_latency_s, out.pp_class);
  expert.put(card_link_Bps, out.ep_Bps, out.ep_latency_s, out.ep_class);
  return out;
}

}  // namespace kvsim
