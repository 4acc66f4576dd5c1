// Where the simulations of `kvsim sweep`, `kvsim plan` and `kvsim capacity` run: threads of this process, or the
// ranks of an MPI job (tools/kvsim/distribute.h). A command hands out tasks (JSON documents that say everything a
// worker needs, since an MPI worker knows only what it is sent) in batches and receives their results here; the
// results never depend on how many workers there were or which one computed what.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include <nlohmann/json.hpp>

namespace kvsim {

using Compute = std::function<nlohmann::json(const nlohmann::json& task)>;
using Store = std::function<void(std::size_t index, const nlohmann::json& result)>;

// The coordinator's view of the workers.
class Workers {
 public:
  virtual ~Workers() = default;
  // Computes every task somewhere and hands each result to store(i, result) in this process, one at a time, in the
  // order they finish. Returns when all are stored; the first error is rethrown once running tasks finish.
  virtual void run(const std::vector<nlohmann::json>& tasks, const Store& store) = 0;
  // How many tasks run at once (a batch wider than this waits for free workers).
  virtual std::size_t width() const = 0;
};

// Runs body(workers) in the process that holds the results (this one with threads; MPI rank 0) while every other
// process computes tasks with `compute` until body returns. Returns false in a process that only computed: it holds
// no results and writes nothing.
using Pool = std::function<bool(const Compute& compute, const std::function<void(Workers&)>& body)>;
// compute() on `jobs` threads of this process (run_points).
Pool thread_pool(int jobs);

// The points of a sweep or plan: compute(i) for every i in [0, n) on a pool's workers, each result handed to
// store(i, result) here. Returns false in a process that only computed (an MPI worker).
using Distribute = std::function<bool(std::size_t n, const std::function<nlohmann::json(std::size_t)>& compute,
                                      const Store& store)>;
Distribute index_distributor(Pool pool);
// index_distributor(thread_pool(jobs)).
Distribute thread_distributor(int jobs);

// Runs `run(i)` for every i in [0, n) on `jobs` threads (dynamic: a free thread takes the next point), calling
// `done(i)` after each (from the worker thread; it must be thread-safe). The first exception stops the taking of
// new points and is rethrown once the others finish.
void run_points(std::size_t n, int jobs, const std::function<void(std::size_t)>& run,
                const std::function<void(std::size_t)>& done);

}  // namespace kvsim
