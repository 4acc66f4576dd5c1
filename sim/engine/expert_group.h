// Expert parallelism across replicas (data-parallel attention): a group of replicas that hold 1/ep of the routed
// experts each and step in lockstep, as vLLM's data-parallel ranks with --enable-expert-parallel do (every rank runs
// a forward in each step, a dummy one when it has nothing to do, because the MoE layers' all-to-all needs all of
// them).
//
// A group step: every member plans its own step from its own queues; the members' planned tokens are summed (the
// tokens the group's MoE layers process); each member with work is priced with that sum (IterationShape::
// moe_group_tokens); all of them last as long as the slowest, and end together. Members with nothing planned stay
// idle (their dummy forward is not priced: it is never the slowest). Requests that reach an idle member while the
// group steps wait for the next group step (the member cannot start alone).
#pragma once

#include <cstdint>
#include <vector>

#include "sim/core/event_queue.h"

namespace kvsim {

class Replica;

class ExpertGroup {
 public:
  // `members` outlive the group; the first one's index names the group's events.
  ExpertGroup(std::vector<Replica*> members, EventQueue& events);
  const std::vector<Replica*>& members() const { return members_; }
  // A member has work: the group steps now if it is idle.
  void wake();
  // The group's EngineStep and IterationDone events.
  void on_engine_step();
  void on_iteration_done();

 private:
  void step();
  std::vector<Replica*> members_;
  EventQueue& events_;
  bool busy_ = false, step_pending_ = false;
};

}  // namespace kvsim
