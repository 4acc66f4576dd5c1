// Energy of a run's GPUs (summary.energy), by one of two power models (scenario `metrics.power_model`):
//   "tdp"          every GPU at its card's TDP for the whole simulated time: an upper bound;
//   "utilization"  each GPU at TDP while its replica has a step in flight and at idle_fraction x TDP otherwise:
//                  P = TDP x (idle + (1 - idle) x busy), busy the replica's share of the time with a step in flight
//                  (its summed step times / simulated time). Steps still count at full TDP (memory-bound decode
//                  draws less on real GPUs), so it too leans high; the idle share (default 0.1, about 70 W of an
//                  H100 SXM's 700 W) is an assumption to override, not a measurement.
// Host, network and cooling are not counted by either.
#pragma once

#include <string>
#include <vector>

namespace kvsim {

struct PowerModel {
  enum class Kind { kTdp, kUtilization };
  Kind kind = Kind::kTdp;
  double idle_fraction = 0.1;  // of TDP, when idle (utilization model only)
  std::string name() const { return kind == Kind::kTdp ? "tdp" : "utilization"; }
  std::string description() const;  // what summary.energy.model says
};

// One replica's GPUs for the estimate.
struct GpuGroupPower {
  int gpus = 0;
  double tdp_W = 0;
  double busy_fraction = 0;  // in [0, 1]
};

struct EnergyEstimate {
  double watts = 0;   // mean electrical power of the fleet's GPUs
  double joules = 0;  // over `seconds`
};

EnergyEstimate estimate_energy(const PowerModel& model, const std::vector<GpuGroupPower>& groups, double seconds);

}  // namespace kvsim
