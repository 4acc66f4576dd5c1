// The schedulers kvsim knows: the single, explicit registration list of the family.
#include "sim/sched/impl/schedulers.h"

namespace kvsim {

const SchedulerRegistry& schedulers() {
  static const SchedulerRegistry kRegistry = [] {
    SchedulerRegistry r("scheduler");
    r.add({"vllm-v1",
           "token budget shared by decodes and chunked prefills; FCFS admission; preempt newest on KV exhaustion",
           "vLLM v1 scheduler (vllm/v1/core/sched/scheduler.py); Sarathi-Serve, arXiv 2403.02310",
           {},
           make_vllm_v1_scheduler});
    r.add({"prefill-first",
           "whole-prompt prefill iterations take priority over decode iterations (no mixing, no chunking)",
           "vLLM v0 default scheduler; Kwon et al., PagedAttention, SOSP 2023 (arXiv 2309.06180)",
           {},
           make_prefill_first_scheduler});
    return r;
  }();
  return kRegistry;
}

}  // namespace kvsim
