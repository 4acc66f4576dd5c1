// Lockstep steps of an expert-parallel group (see expert_group.h).
#include "sim/engine/expert_group.h"

#include <algorithm>

#include "sim/core/units.h"
#include "sim/engine/replica.h"

namespace kvsim {

ExpertGroup::ExpertGroup(std::vector<Replica*> members, EventQueue& events)
    : members_(std::move(members)), events_(events) {}

void ExpertGroup::wake() {
  if (!busy_ && !step_pending_) {
    events_.push(events_.now(), EventPriority::kEngineStep, EngineStep{members_.front()->index()});
    step_pending_ = true;
  }
}

void ExpertGroup::on_engine_step() {
  step_pending_ = false;
  step();
}

void ExpertGroup::on_iteration_done() {
  for (Replica* m : members_) {
    if (m->busy()) m->end_step();
  }
  busy_ = false;
  step();
}

void ExpertGroup::step() {
  double group_tokens = 0;
  bool any = false;
  for (Replica* m : members_) {
    if (m->plan_step()) {
      any = true;
      group_tokens += m->step_tokens();
    }
  }
  if (!any) return;
  double seconds = 0;
  for (Replica* m : members_) {
    if (m->busy()) seconds = std::max(seconds, m->price_step(group_tokens));
  }
  const SimTimeNs dt = std::max<SimTimeNs>(1, units::s_to_ns(seconds));
  for (Replica* m : members_) {
    if (m->busy()) m->launch_step(dt, false);
  }
  events_.push(events_.now() + dt, EventPriority::kIterationDone, IterationDone{members_.front()->index()});
  busy_ = true;
}

}  // namespace kvsim
