// Signal handlers that record an interruption (see interrupt.h).
#include "sim/core/interrupt.h"

#include <csignal>

namespace kvsim {

namespace detail {
std::atomic<int> g_interrupt_signal{0};
}  // namespace detail

namespace {
extern "C" void record_signal(int signal) {
  detail::g_interrupt_signal.store(signal, std::memory_order_relaxed);  // lock-free: async-signal-safe
}
}  // namespace

void install_interrupt_handlers() {
  static_assert(std::atomic<int>::is_always_lock_free);
  struct sigaction action {};
  action.sa_handler = record_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;  // a second signal takes the default action: the process ends at once
  for (const int s : {SIGINT, SIGTERM, SIGHUP}) sigaction(s, &action, nullptr);
}

}  // namespace kvsim
