// Typed simulation events and their total order. The order is defined here and only here:
// (time_ns, priority, insertion sequence). Arrivals at a time are handled before the engine steps at that time.
#pragma once

#include <cstdint>
#include <variant>

#include "sim/core/types.h"

namespace kvsim {

// A request of the workload arrives (the simulator holds the record until this event fires).
struct RequestArrival {};
// A request the simulator held arrives (its record in `slot`): a closed-loop session's later turn, its think time
// after the previous turn finished, or a request at the engine, after the time outside it (engine.profile).
struct DeferredArrival {
  std::uint32_t slot;
};
// A request's client gives up (workload.client_timeout_s): the engine aborts it unless it finished (the simulator
// holds which request in `slot`).
struct ClientTimeout {
  std::uint32_t slot;
};
// Engine instance `replica` may start an iteration (it was idle, or the previous iteration ended).
struct EngineStep {
  std::int32_t replica = 0;
};
// Engine instance `replica`'s running iteration finishes: apply its progress.
struct IterationDone {
  std::int32_t replica = 0;
};

// A request's KV finished moving from its prefill replica to the decode pool (the simulator holds which in `slot`).
struct KvTransferDone {
  std::uint32_t slot;
};

// The topology's links: the next KV move finishes sending (stale unless `generation` is the latest scheduled).
struct LinkWake {
  std::uint32_t generation;
};

using Event =
    std::variant<RequestArrival, DeferredArrival, ClientTimeout, EngineStep, IterationDone, KvTransferDone, LinkWake>;

enum class EventPriority : std::uint8_t {
  kArrival = 0,        // first: a request arriving at t is visible to a step starting at t
  kIterationDone = 1,  // then the iteration ending at t
  kEngineStep = 2,     // last: the next iteration starts after everything else at t
};

struct QueuedEvent {
  SimTimeNs time_ns;
  EventPriority priority;
  std::uint64_t seq;
  Event event;
};

// Strict weak order for a min-heap: earliest time, then priority, then insertion order.
struct EventLater {
  bool operator()(const QueuedEvent& a, const QueuedEvent& b) const {
    if (a.time_ns != b.time_ns) return a.time_ns > b.time_ns;
    if (a.priority != b.priority) return a.priority > b.priority;
    return a.seq > b.seq;
  }
};

}  // namespace kvsim
