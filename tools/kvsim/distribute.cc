// Threads or MPI ranks for sweep and plan (see distribute.h).
#include "tools/kvsim/distribute.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "sim/core/error.h"

#ifdef KVSIM_WITH_MPI
#include <mpi.h>
#endif

namespace kvsim::cli {

namespace {
int g_rank = 0, g_ranks = 1;

#ifdef KVSIM_WITH_MPI
// The work protocol: a worker asks (kAsk, with the index of the task it finished or -1; the result follows as JSON
// text, kResult); rank 0 answers with a task's index and its JSON text (kIndex, kTask), or with -1 to stop. Between
// batches rank 0 holds the asks it could not answer (parked workers) and answers them with the next batch's tasks.
constexpr int kAsk = 1, kIndex = 2, kResult = 3, kTask = 4;

std::string receive_text(int source, int tag) {
  MPI_Status st;
  MPI_Probe(source, tag, MPI_COMM_WORLD, &st);
  int size = 0;
  MPI_Get_count(&st, MPI_CHAR, &size);
  std::string text(static_cast<std::size_t>(size), '\0');
  MPI_Recv(text.data(), size, MPI_CHAR, source, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  return text;
}

void send_text(const std::string& text, int dest, int tag) {
  MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, dest, tag, MPI_COMM_WORLD);
}

// An ask from any worker: its rank, and the index of the task it finished with the result (or -1).
struct Ask {
  int rank = 0;
  long long finished = -1;
  std::string result;
};

Ask receive_ask() {
  Ask ask;
  MPI_Status st;
  MPI_Recv(&ask.finished, 1, MPI_LONG_LONG, MPI_ANY_SOURCE, kAsk, MPI_COMM_WORLD, &st);
  ask.rank = st.MPI_SOURCE;
  if (ask.finished >= 0) ask.result = receive_text(ask.rank, kResult);
  return ask;
}

void give(int rank, long long index, const std::string& task) {
  MPI_Send(&index, 1, MPI_LONG_LONG, rank, kIndex, MPI_COMM_WORLD);
  if (index >= 0) send_text(task, rank, kTask);
}

class MpiWorkers final : public Workers {
 public:
  void run(const std::vector<nlohmann::json>& tasks, const Store& store) override {
    std::size_t next = 0, running = 0;
    const auto hand_out = [&](int rank) {
      if (next < tasks.size()) {
        give(rank, static_cast<long long>(next), tasks[next].dump());
        ++next;
        ++running;
      } else {
        parked_.push_back(rank);
      }
    };
    std::vector<int> idle;
    idle.swap(parked_);
    for (const int rank : idle) hand_out(rank);
    while (next < tasks.size() || running > 0) {
      const Ask ask = receive_ask();
      if (ask.finished >= 0) {
        --running;
        store(static_cast<std::size_t>(ask.finished), nlohmann::json::parse(ask.result));
      }
      hand_out(ask.rank);
    }
  }
  std::size_t width() const override { return static_cast<std::size_t>(g_ranks - 1); }

  // Tells every worker to stop, once each has asked (results still arriving are dropped: an error ends the run).
  void stop() {
    int stopped = 0;
    for (const int rank : parked_) {
      give(rank, -1, "");
      ++stopped;
    }
    parked_.clear();
    while (stopped < g_ranks - 1) {
      give(receive_ask().rank, -1, "");
      ++stopped;
    }
  }

 private:
  std::vector<int> parked_;  // workers that asked and got nothing yet
};

bool mpi_pool(const Compute& compute, const std::function<void(Workers&)>& body) {
  if (g_rank == 0) {
    MpiWorkers workers;
    try {
      body(workers);
    } catch (...) {
      workers.stop();
      throw;
    }
    workers.stop();
    return true;
  }
  long long finished = -1;
  std::string result;
  while (true) {
    MPI_Send(&finished, 1, MPI_LONG_LONG, 0, kAsk, MPI_COMM_WORLD);
    if (finished >= 0) send_text(result, 0, kResult);
    long long index = -1;
    MPI_Recv(&index, 1, MPI_LONG_LONG, 0, kIndex, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (index < 0) return false;
    const std::string task = receive_text(0, kTask);
    try {
      result = compute(nlohmann::json::parse(task)).dump();
    } catch (const std::exception& e) {  // rank 0 would wait for it forever: end the whole job, saying why
      std::fprintf(stderr, "kvsim: error on MPI rank %d, task %s: %s\n", g_rank, task.c_str(), e.what());
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    finished = index;
  }
}
#endif
}  // namespace

MpiSession::MpiSession(int& argc, char**& argv) {
#ifdef KVSIM_WITH_MPI
  // Only under an MPI launcher (mpirun / mpiexec, or srun with PMI): MPI_Init costs every other kvsim run its
  // start-up (Open MPI's PMIx client and its libraries), for nothing.
  if (std::getenv("OMPI_COMM_WORLD_SIZE") == nullptr && std::getenv("PMIX_RANK") == nullptr &&
      std::getenv("PMI_SIZE") == nullptr) {
    return;
  }
  initialized_ = true;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_ranks);
#else
  (void)argc;
  (void)argv;
#endif
}

MpiSession::~MpiSession() {
#ifdef KVSIM_WITH_MPI
  if (initialized_) MPI_Finalize();
#endif
}

int mpi_ranks() { return g_ranks; }

void barrier() {
#ifdef KVSIM_WITH_MPI
  if (g_ranks > 1) MPI_Barrier(MPI_COMM_WORLD);
#endif
}
bool is_coordinator() { return g_rank == 0; }

int thread_count(int jobs) {
  return jobs > 0 ? jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

Pool make_pool(int jobs) {
#ifdef KVSIM_WITH_MPI
  if (g_ranks > 1) return mpi_pool;
#endif
  return thread_pool(thread_count(jobs));
}

Distribute make_distributor(int jobs) { return index_distributor(make_pool(jobs)); }

}  // namespace kvsim::cli
