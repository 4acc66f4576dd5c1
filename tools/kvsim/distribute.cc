// Threads or MPI ranks for sweep and plan (see distribute.h).
#include "tools/kvsim/distribute.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <thread>

#include "sim/core/error.h"

#ifdef KVSIM_WITH_MPI
#include <mpi.h>
#endif

namespace kvsim::cli {

namespace {
int g_rank = 0, g_ranks = 1;

#ifdef KVSIM_WITH_MPI
// Tags of the work protocol: a worker asks (kAsk, with the index it finished or -1), rank 0 answers with the next
// index or -1 to stop (kIndex); a result travels as its JSON text (kResult).
constexpr int kAsk = 1, kIndex = 2, kResult = 3;

bool mpi_distribute(std::size_t n, const std::function<nlohmann::json(std::size_t)>& compute,
                    const std::function<void(std::size_t, const nlohmann::json&)>& store) {
  if (g_rank == 0) {
    long long next = 0;
    int stopped = 0;
    while (stopped < g_ranks - 1) {
      long long finished = -1;
      MPI_Status st;
      MPI_Recv(&finished, 1, MPI_LONG_LONG, MPI_ANY_SOURCE, kAsk, MPI_COMM_WORLD, &st);
      if (finished >= 0) {  // its result follows
        int size = 0;
        MPI_Status rs;
        MPI_Probe(st.MPI_SOURCE, kResult, MPI_COMM_WORLD, &rs);
        MPI_Get_count(&rs, MPI_CHAR, &size);
        std::string text(static_cast<std::size_t>(size), '\0');
        MPI_Recv(text.data(), size, MPI_CHAR, st.MPI_SOURCE, kResult, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        store(static_cast<std::size_t>(finished), nlohmann::json::parse(text));
      }
      long long give = next < static_cast<long long>(n) ? next++ : -1;
      if (give < 0) ++stopped;
      MPI_Send(&give, 1, MPI_LONG_LONG, st.MPI_SOURCE, kIndex, MPI_COMM_WORLD);
    }
    return true;
  }
  long long finished = -1;
  std::string text;
  while (true) {
    MPI_Send(&finished, 1, MPI_LONG_LONG, 0, kAsk, MPI_COMM_WORLD);
    if (finished >= 0) MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, 0, kResult, MPI_COMM_WORLD);
    long long index = -1;
    MPI_Recv(&index, 1, MPI_LONG_LONG, 0, kIndex, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (index < 0) return false;
    try {
      text = compute(static_cast<std::size_t>(index)).dump();
    } catch (const std::exception& e) {  // rank 0 would wait for it forever: end the whole job, saying why
      std::fprintf(stderr, "kvsim: error on MPI rank %d, point %lld: %s\n", g_rank, index, e.what());
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

Distribute make_distributor(int jobs) {
#ifdef KVSIM_WITH_MPI
  if (g_ranks > 1) return mpi_distribute;
#endif
  return thread_distributor(thread_count(jobs));
}

}  // namespace kvsim::cli
