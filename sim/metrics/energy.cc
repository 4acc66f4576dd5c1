// The two power models of summary.energy (see energy.h).
#include "sim/metrics/energy.h"

#include <algorithm>

namespace kvsim {

std::string PowerModel::description() const {
  if (kind == Kind::kTdp) {
    return "every GPU at its card's TDP for the whole simulated time: an upper bound (metrics.power_model "
           "\"utilization\" counts idle time lower); host, network and cooling not counted";
  }
  return "each GPU at its card's TDP while its replica has a step in flight, else at idle_power_fraction x TDP "
         "(an assumption); steps at full TDP lean high for memory-bound decode; host, network and cooling not "
         "counted";
}

EnergyEstimate estimate_energy(const PowerModel& model, const std::vector<GpuGroupPower>& groups, double seconds) {
  EnergyEstimate e;
  for (const GpuGroupPower& g : groups) {
    const double busy = std::clamp(g.busy_fraction, 0.0, 1.0);
    const double share = model.kind == PowerModel::Kind::kTdp
                             ? 1.0
                             : model.idle_fraction + (1.0 - model.idle_fraction) * busy;
    e.watts += g.gpus * g.tdp_W * share;
  }
  e.joules = e.watts * seconds;
  return e;
}

}  // namespace kvsim
