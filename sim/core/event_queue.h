// Deterministic event queue: pops events in (time_ns, priority, insertion) order; time never goes backwards.
#pragma once

#include <cassert>
#include <queue>
#include <stdexcept>
#include <vector>

#include "sim/core/event.h"

namespace kvsim {

class EventQueue {
 public:
  // Precondition: time_ns >= now() (events cannot be scheduled in the past).
  void push(SimTimeNs time_ns, EventPriority priority, Event event) {
    if (time_ns < now_) throw std::logic_error("event scheduled in the past");
    heap_.push(QueuedEvent{time_ns, priority, next_seq_++, event});
  }
  bool empty() const { return heap_.empty(); }
  // Removes and returns the next event; advances now().
  QueuedEvent pop() {
    QueuedEvent e = heap_.top();
    heap_.pop();
    assert(e.time_ns >= now_);
    now_ = e.time_ns;
    return e;
  }
  SimTimeNs now() const { return now_; }

 private:
  std::priority_queue<QueuedEvent, std::vector<QueuedEvent>, EventLater> heap_;
  std::uint64_t next_seq_ = 0;
  SimTimeNs now_ = 0;
};

}  // namespace kvsim
