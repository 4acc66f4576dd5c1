// Interruption by SIGINT, SIGTERM or SIGHUP: the handler only records the signal; long loops (the simulator's
// event loop, trace reading) poll interrupted() and throw Interrupted, so the stack unwinds, staging directories
// are removed (reports/atomic_output.h) and `kvsim` exits 128 + the signal (130 for SIGINT, 143 for SIGTERM).
// A second signal of the same kind kills the process at once (the handler is reset after the first).
#pragma once

#include <atomic>
#include <exception>

namespace kvsim {

// Installs the handlers (once per process; the CLI calls it first thing).
void install_interrupt_handlers();

namespace detail {
extern std::atomic<int> g_interrupt_signal;
}  // namespace detail

// The signal that asked kvsim to stop, or 0. One relaxed atomic load: cheap enough for every event.
inline int interrupted() { return detail::g_interrupt_signal.load(std::memory_order_relaxed); }

// Thrown where a loop notices the interruption; never a KvsimError (it is no fault of the input).
class Interrupted : public std::exception {
 public:
  explicit Interrupted(int signal) : signal_(signal) {}
  int signal() const { return signal_; }
  const char* what() const noexcept override { return "interrupted by a signal"; }

 private:
  int signal_;
};

inline void throw_if_interrupted() {
  if (const int s = interrupted(); s != 0) [[unlikely]] throw Interrupted(s);
}

}  // namespace kvsim
