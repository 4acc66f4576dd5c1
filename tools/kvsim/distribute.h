// Where `kvsim sweep`, `kvsim plan` and `kvsim capacity` run their simulations: threads of this process, or, in a
// kvsim built with MPI (Debian's libopenmpi-dev; CMake option KVSIM_MPI, on when MPI is found) and launched by
// `mpirun -np N` with N > 1, the ranks of the MPI job: rank 0 hands out tasks one at a time to whichever rank asks
// (dynamic distribution), receives each result and alone writes the output; ranks 1..N-1 compute (each on one
// thread). Results are the same bytes either way. Other commands run unchanged on every rank.
#pragma once

#include "sim/plan/workers.h"

namespace kvsim::cli {

// Held by main() for the whole run: initializes MPI (when built with it and launched by mpirun, mpiexec or srun with
// PMI, as their environment says) and finalizes it.
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

 private:
  bool initialized_ = false;  // launched by an MPI launcher (else this is one process, MPI untouched)
};

// The ranks of the MPI job (1 without MPI or outside mpirun), and whether this process writes the output.
int mpi_ranks();
bool is_coordinator();
// Waits until every rank reaches it (nothing without MPI): e.g. every rank has read what rank 0 will then write.
void barrier();

// Threads for `jobs` (0: every core).
int thread_count(int jobs);
// MPI ranks when there are several (rank 0 coordinates, the others compute), else thread_count(jobs) threads.
Pool make_pool(int jobs);
// index_distributor(make_pool(jobs)).
Distribute make_distributor(int jobs);

}  // namespace kvsim::cli
