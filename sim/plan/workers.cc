// Threads as workers, and sweep/plan points as tasks (see workers.h).
#include "sim/plan/workers.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

namespace kvsim {

namespace {

class ThreadWorkers final : public Workers {
 public:
  ThreadWorkers(int jobs, const Compute& compute) : jobs_(std::max(1, jobs)), compute_(compute) {}
  void run(const std::vector<nlohmann::json>& tasks, const Store& store) override {
    std::mutex lock;
    run_points(
        tasks.size(), jobs_,
        [&](std::size_t i) {
          nlohmann::json result = compute_(tasks[i]);
          const std::lock_guard<std::mutex> guard(lock);
          store(i, result);
        },
        [](std::size_t) {});
  }
  std::size_t width() const override { return static_cast<std::size_t>(jobs_); }

 private:
  int jobs_;
  const Compute& compute_;
};

}  // namespace

Pool thread_pool(int jobs) {
  return [jobs](const Compute& compute, const std::function<void(Workers&)>& body) {
    ThreadWorkers workers(jobs, compute);
    body(workers);
    return true;
  };
}

Distribute index_distributor(Pool pool) {
  return [pool = std::move(pool)](std::size_t n, const std::function<nlohmann::json(std::size_t)>& compute,
                                  const Store& store) {
    return pool([&](const nlohmann::json& task) { return compute(task.get<std::size_t>()); },
                [&](Workers& workers) {
                  std::vector<nlohmann::json> tasks;
                  tasks.reserve(n);
                  for (std::size_t i = 0; i < n; ++i) tasks.emplace_back(i);
                  workers.run(tasks, store);
                });
  };
}

Distribute thread_distributor(int jobs) { return index_distributor(thread_pool(jobs)); }

void run_points(std::size_t n, int jobs, const std::function<void(std::size_t)>& run,
                const std::function<void(std::size_t)>& done) {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  const auto worker = [&] {
    while (!failed) {
      const std::size_t i = next++;
      if (i >= n) return;
      try {
        run(i);
        done(i);
      } catch (...) {
        const std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  const int threads = std::max(1, std::min<int>(jobs, static_cast<int>(std::min<std::size_t>(n, 1024))));
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (std::thread& t : pool) t.join();
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace kvsim
