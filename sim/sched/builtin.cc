// The schedulers kvsim knows: the single, explicit registration list of the family.
#include "sim/sched/impl/schedulers.h"

#include "sim/core/param_reader.h"

namespace kvsim {

namespace {
// A scheduler without parameters: any given is an error naming it.
SchedulerBuilder without_params(std::function<std::unique_ptr<IScheduler>()> make) {
  return [make](const nlohmann::json& params, const std::string& where) -> SchedulerFactory {
    ParamReader r(params, where);
    r.finish();
    return make;
  };
}
}  // namespace

const SchedulerRegistry& schedulers() {
  static const SchedulerRegistry kRegistry = [] {
    SchedulerRegistry r("scheduler");
    r.add({"vllm-v1",
           "token budget shared by decodes and chunked prefills; FCFS admission; preempt newest on KV exhaustion",
           "vLLM v1 scheduler (vllm/v1/core/sched/scheduler.py); Sarathi-Serve, arXiv 2403.02310",
           {},
           without_params([] { return make_vllm_v1_scheduler(); })});
    r.add({"prefill-first",
           "whole-prompt prefill iterations take priority over decode iterations (no mixing, no chunking)",
           "vLLM v0 default scheduler; Kwon et al., PagedAttention, SOSP 2023 (arXiv 2309.06180)",
           {},
           without_params(make_prefill_first_scheduler)});
    r.add({"sjf",
           "shortest job first: vLLM v1's scheduling, waiting requests admitted by predicted output length "
           "(a length predictor with an error model), optionally aged so none starves",
           "Fu et al., Efficient LLM Scheduling by Learning to Rank, arXiv 2408.15792 (NeurIPS 2024; repo "
           "hao-ai-lab/vllm-ltr); Jin et al., S3, arXiv 2306.06000 (NeurIPS 2023)",
           sjf_params(),
           sjf_builder()});
    r.add({"priority",
           "vLLM's priority policy: vLLM v1's scheduling, waiting requests by class priority "
           "(workload.classes), preemption victims the lowest-priority running requests",
           "vLLM --scheduling-policy priority (vllm/v1/core/sched/scheduler.py)",
           priority_params(),
           priority_builder()});
    r.add({"static-batch",
           "static batching: a batch prefilled at once decodes until its last member finishes, nothing joins it; "
           "prompts padded to the longest (padding=true) or packed",
           "HF transformers generate; Zhao et al., Prepacking, arXiv 2404.09529; Zhai et al., ByteTransformer, "
           "arXiv 2210.03052 (IPDPS 2023)",
           static_batch_params(),
           static_batch_builder()});
    return r;
  }();
  return kRegistry;
}

}  // namespace kvsim
