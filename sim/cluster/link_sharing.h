// Transfers sharing the links of a topology (sim/cluster/topology.h): KV moving from prefill to decode replicas.
//
// A move is one flow per tensor-parallel rank (each rank's KV shard goes from its GPU to the matching GPU of the
// target; between pools of different tensor parallelism, one per rank of the larger), each on its least-latency
// path. A link carries each direction at its bandwidth; the flows crossing it
// share it max-min fairly (progressive filling: the most contended link fixes its flows' equal shares first, the
// others share what is left), recomputed whenever a flow starts, ends or is cancelled, so a flow speeds up as others
// finish. A move's bytes are all sent when its last flow is; it arrives its longest path's summed latency later.
// Approximations: flows start at full share at once (no TCP/RDMA ramp-up), links are full duplex, no protocol
// overhead or switch buffering, and latency is added once per move rather than per packet.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim/cluster/topology.h"
#include "sim/core/types.h"

namespace kvsim {

class LinkSharing {
 public:
  // `topology` must outlive this object.
  explicit LinkSharing(const Topology& topology);

  // A move finished sending: what it carried (`tag`, e.g. a slot of the caller) and the latency still to add.
  struct Finished {
    std::uint32_t tag;
    double latency_s;
  };

  // Starts a move tagged `tag` at `now`: max(|from|, |to|) flows, flow i of `bytes_per_flow` from from[i mod
  // |from|] to to[i mod |to|] (pools of different tensor parallelism reshard the KV), of `moved_per_flow` the flow moves in all (more when some went earlier, streamed during
  // the prefill: counted per link class, not sent now). Paths are looked up once per pair and kept.
  void start(std::uint32_t tag, const std::vector<std::size_t>& from, const std::vector<std::size_t>& to,
             double bytes_per_flow, double moved_per_flow, SimTimeNs now);
  // Stops the move tagged `tag` (its client gave up): its flows leave the links at `now`. False if it was not
  // moving (it had finished sending).
  bool cancel(std::uint32_t tag, SimTimeNs now);
  // Advances the flows to `now` and appends the moves whose bytes are all sent to `finished`.
  void advance(SimTimeNs now, std::vector<Finished>& finished);
  // When the next flow finishes at the current rates; -1 when none is moving.
  SimTimeNs next_finish_ns() const;
  bool idle() const { return flows_.empty(); }

  // Bytes moves put on links of each class ("nvlink", "pcie", "network", ...): each flow's bytes once per class its
  // path crosses.
  const std::map<std::string, double>& bytes_by_class() const { return bytes_by_class_; }
  // Per path taken (from -> to), for reports and tests: the path of the first flow of the last move started.
  const Topology::Path& last_path() const { return last_path_; }

 private:
  struct Flow {
    std::uint32_t tag;
    std::vector<std::size_t> resources;  // link * 2 + direction
    double remaining = 0, bytes = 0;
    double rate_Bps = 0;
  };
  struct Move {
    int flows = 0;
    double latency_s = 0;
  };
  const Topology::Path& path(std::size_t from, std::size_t to);
  void progress(SimTimeNs now);
  void share();

  const Topology& topology_;
  std::map<std::pair<std::size_t, std::size_t>, Topology::Path> paths_;
  std::vector<Flow> flows_;
  std::map<std::uint32_t, Move> moves_;
  std::vector<double> capacity_;  // per resource, scratch of share()
  std::vector<int> users_;
  std::map<std::string, double> bytes_by_class_;
  Topology::Path last_path_;
  SimTimeNs updated_ns_ = 0;
};

}  // namespace kvsim
