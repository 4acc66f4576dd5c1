// A replica's GPUs on a topology (sim/cluster/topology.h) and what their paths give its collectives: the slowest link
// and the path latency of its tensor-parallel rings, its expert-parallel group and its pipeline stages' hand-overs.
#pragma once

#include <cstddef>
#include <vector>

#include "models/cost/iteration_cost_model.h"
#include "sim/cluster/topology.h"

namespace kvsim {

// `gpus`: the replica's GPU nodes, stage-major (stage s holds [s x tp, (s + 1) x tp)); `expert_group`: the first
// stage's GPUs of every replica of its expert-parallel group (empty without expert parallelism). A bandwidth is set
// only where the slowest link is slower than `card_link_Bps` (the card's NVLink, or PCIe without): within one
// NVLink domain the card's own figures (and measured tables) price the collective as without a topology. Link
// classes are always set.
IterationCostModel::Links replica_links(const Topology& topology, const std::vector<std::size_t>& gpus,
                                        const std::vector<std::size_t>& expert_group, int tp, int pp,
                                        double card_link_Bps);

}  // namespace kvsim
