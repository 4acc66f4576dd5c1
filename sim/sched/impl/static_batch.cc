// Static batching (HF generate, FasterTransformer; the baseline of Prepacking and ByteTransformer): a batch of up to
// `batch_size` waiting requests (FCFS) is prefilled in one step and then decodes, one token per member per step,
// until its last member finishes; only then is the next batch formed. Nothing joins a running batch.
//   padding=true   every prompt is padded to the batch's longest, and a member that has finished keeps its row,
//                  computing padding, until the batch ends: the rows a padded batch computes (plan.padding_tokens,
//                  priced through the GEMMs as CUDA-graph padding is; attention over padded positions is not
//                  priced);
//   padding=false  the prompts are packed (no padding: Prepacking, ByteTransformer) and finished members leave.
// Members preempted for memory leave the batch and wait for a later one (swapped ones resume when one forms).
#include <algorithm>
#include <memory>
#include <string>

#include "sim/core/param_reader.h"
#include "sim/sched/impl/schedulers.h"

namespace kvsim {

namespace {

class StaticBatchScheduler final : public IScheduler {
 public:
  StaticBatchScheduler(bool padding, int batch_size) : padding_(padding), batch_size_(batch_size) {}

  void schedule(SchedulerContext& ctx, StepPlan& plan) override {
    auto& q = ctx.queues;
    if (q.running.empty()) members_ = 0;  // the batch is done
    if (members_ == 0) {
      form(ctx, plan);
      return;
    }
    for (std::size_t i = 0; i < q.running.size(); ++i) {
      Request& r = *q.running[i];
      if (!reserve_or_preempt(ctx, plan, r, 1)) break;
      plan.work.push_back({&r, 1});
    }
    members_ -= plan.preemptions;  // preempted members left the batch
    if (padding_) plan.padding_tokens = std::max<TokenCount>(0, members_ - static_cast<TokenCount>(plan.work.size()));
  }

 private:
  void form(SchedulerContext& ctx, StepPlan& plan) {
    auto& q = ctx.queues;
    const int cap = batch_size_ > 0 ? batch_size_ : ctx.limits.max_num_seqs;
    TokenCount longest = 0, sum = 0;
    const auto take = [&](Request& r) {
      const TokenCount n = r.missing_tokens();
      plan.work.push_back({&r, n});
      longest = std::max(longest, n);
      sum += n;
    };
    const std::size_t before = q.running.size();
    swap_in_swapped(ctx, plan);
    for (std::size_t i = before; i < q.running.size(); ++i) {
      Request& r = *q.running[i];
      if (ctx.kv.reserve(r, r.missing_tokens())) take(r);
    }
    while (!q.waiting.empty() && static_cast<int>(q.running.size()) < cap) {
      Request& r = *q.waiting.front();
      if (!ctx.kv.reserve(r, r.missing_tokens())) break;
      admit(ctx, r);
      take(r);
    }
    members_ = static_cast<TokenCount>(plan.work.size());
    if (padding_) plan.padding_tokens = members_ * longest - sum;
  }

  bool padding_;
  int batch_size_;
  TokenCount members_ = 0;  // requests of the current batch still in it (finished ones included)
};

}  // namespace

std::vector<ParamDoc> static_batch_params() {
  return {{"padding", "bool", "true", "pad prompts to the batch's longest and keep finished rows (false: packed)"},
          {"batch_size", "int", "0", "requests per batch (0: engine.max_num_seqs)"}};
}

SchedulerBuilder static_batch_builder() {
  return [](const nlohmann::json& params, const std::string& where) -> SchedulerFactory {
    ParamReader r(params, where);
    const bool padding = r.get<bool>("padding", true);
    const int batch_size = r.get_non_negative<int>("batch_size", 0);
    r.check(batch_size <= 1'000'000, "batch_size", "at most 1000000 requests");
    r.finish();
    return [padding, batch_size] { return std::make_unique<StaticBatchScheduler>(padding, batch_size); };
  };
}

}  // namespace kvsim
