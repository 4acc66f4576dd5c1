// One engine instance (see replica.h).
#include "sim/engine/replica.h"

#include <algorithm>
#include <bit>
#include <stdexcept>

#include <fmt/format.h>

#include "sim/core/units.h"
#include "sim/engine/expert_group.h"
#include "sim/engine/simulator.h"
#include "sim/metrics/timeline.h"

// The parts of a step, inlined into start_iteration() (and their public wrappers).
#define KVSIM_INLINE [[gnu::always_inline]] inline

namespace kvsim {

namespace {
const std::vector<ISimObserver*>& no_observers() {
  static const std::vector<ISimObserver*> kNone;
  return kNone;
}

// A decode replica of disaggregation holds moved KV without a prefix cache (its prefill pool caches).
bool caches(const SimOptions& o, ReplicaRole role) { return o.prefix_caching && role != ReplicaRole::kDecode; }

PrefixCacheOptions prefix_options(const SimOptions& o, const IterationCostModel& cost, ReplicaRole role) {
  PrefixCacheOptions p;
  p.enabled = caches(o, role);
  p.mode = o.prefix_cache_mode;
  if (o.eviction) p.eviction = o.eviction();
  if (!o.tiers.empty()) p.tiers = std::make_unique<KvTiers>(o.tiers, cost.layout().block_bytes(), o.tier_offload);
  if (o.chunk_reuse) p.chunks = std::make_unique<ChunkStore>(*o.chunk_reuse, cost.layout().device_bytes_per_token());
  return p;
}
}  // namespace

Replica::Replica(std::int32_t index, ReplicaRole role, const SimOptions& o, std::unique_ptr<IScheduler> scheduler,
                 const IterationCostModel& cost, std::int64_t kv_capacity_bytes, EventQueue& events,
                 ReplicaHost& host, const std::vector<ISimObserver*>& observers)
    : index_(index),
      role_(role),
      opt_(o),
      scheduler_(std::move(scheduler)),
      cost_(cost),
      events_(events),
      host_(host),
      observers_(observers),
      timeline_(o.replicas > 1 ? std::make_unique<TimelineRecorder>(o.timeline_interval_s, no_observers()) : nullptr),
      kv_(cost.layout(), kv_capacity_bytes, o.host_kv_bytes, o.swap_bytes, o.preemption,
          prefix_options(o, cost, role)),
      caching_(caches(o, role)),
      step_time_(o.profile.adds_step_time()),
      pp_(o.pipeline_parallel),
      stage_free_ns_(static_cast<std::size_t>(o.pipeline_parallel), 0) {}

Replica::~Replica() = default;

std::string Replica::admission_problem(const TraceRecord& rec) const {
  // Compared one by one first so that huge lengths cannot overflow the sum.
  if (rec.prompt_tokens > opt_.max_model_len || rec.output_tokens > opt_.max_model_len ||
      rec.prompt_tokens + rec.output_tokens > opt_.max_model_len) {
    return fmt::format("prompt + output tokens exceed max_model_len ({})", opt_.max_model_len);
  }
  const KvManager::Footprint peak =
      kv_.peak_footprint(rec.prompt_tokens, rec.prompt_tokens + rec.output_tokens - 1,
                         {opt_.limits.chunked_prefill, opt_.limits.max_num_batched_tokens});
  if (peak.device_bytes > kv_.capacity_bytes()) return "needs more KV memory (KV blocks) than the whole device pool holds";
  if (peak.host_bytes > kv_.host_kv_capacity_bytes()) return "needs more host KV memory than engine.host_kv_GiB";
  if (!opt_.limits.chunked_prefill && rec.prompt_tokens > opt_.limits.max_num_batched_tokens) {
    return "prompt longer than max_num_batched_tokens and chunked prefill is off";
  }
  return {};
}

void Replica::admit(Request* r) {
  r->replica = index_;
  c_.admitted++;
  // With asynchronous scheduling the step after the running one was planned when the running one started: a
  // request arriving meanwhile waits for the plan after it (vLLM's AsyncScheduler).
  if (opt_.profile.async_scheduling && busy_) {
    incoming_.push_back(r);
  } else {
    queues_.waiting.push_back(r);
  }
  wake();
}

void Replica::on_engine_step() {
  step_pending_ = false;
  if (pp_ > 1) [[unlikely]] {
    start_microbatch();
    return;
  }
  start_iteration();
}

void Replica::on_iteration_done() {
  if (pp_ > 1) [[unlikely]] {
    finish_microbatch();
    return;
  }
  end_step();
  start_iteration();
}

void Replica::end_step() {
  finish_iteration(plan_);
  busy_ = false;
  batch_tokens_ = 0;
  plan_.work.clear();
  if (!pending_aborts_.empty()) [[unlikely]] process_aborts();
}

void Replica::on_client_timeout(Request& r) {
  if (busy_) {
    pending_aborts_.push_back({&r, r.id});  // after the running step, as an engine aborts between steps
  } else {
    abort(r);
  }
}

void Replica::release(Request& r) {
  handed_off_.erase(std::find(handed_off_.begin(), handed_off_.end(), &r));
  kv_.free(r);
  if (has_requests()) wake();  // a request may have waited for this memory
}

void Replica::abort_handed_off(Request& r) {
  abort(r);
  if (has_requests()) wake();
}

void Replica::process_aborts() {
  std::size_t kept = 0;
  for (const auto& [r, id] : pending_aborts_) {
    if (r->id != id || r->state == RequestState::kFinished) continue;
    if (r->in_flight) {  // in a micro-batch still in the pipeline: aborted when it comes out
      pending_aborts_[kept++] = {r, id};
    } else {
      abort(*r);
    }
  }
  pending_aborts_.resize(kept);
}

void Replica::abort(Request& r) {
  const auto drop = [&r](auto& q) { q.erase(std::remove(q.begin(), q.end(), &r), q.end()); };
  if (r.state == RequestState::kTransferring) drop(handed_off_);  // handed off in the step it timed out in
  drop(queues_.waiting);
  drop(queues_.running);
  drop(queues_.swapped);
  drop(incoming_);
  kv_.abort(r);
  r.state = RequestState::kFinished;
  host_.aborted(r);
}

void Replica::wake() {
  if (group_ != nullptr) [[unlikely]] {
    group_->wake();
    return;
  }
  if (pp_ > 1) [[unlikely]] {
    if (!step_pending_ && in_flight_.size() < static_cast<std::size_t>(pp_)) schedule_microbatch();
    return;
  }
  if (!busy_ && !step_pending_) {
    events_.push(events_.now(), EventPriority::kEngineStep, EngineStep{index_});
    step_pending_ = true;
  }
}

void Replica::touch(SimTimeNs now) {
  if (now > touched_ns_) {
    const double utilization = static_cast<double>(kv_.used_bytes()) / static_cast<double>(kv_.capacity_bytes());
    c_.kv_integral_ns += utilization * static_cast<double>(now - touched_ns_);
    if (timeline_) {
      TimelineRecorder::State st;
      st.kv_utilization = utilization;
      st.running = static_cast<double>(running_count());
      st.waiting = static_cast<double>(waiting_count());
      st.batch_size = static_cast<double>(batch_size());
      st.batch_tokens = static_cast<double>(batch_tokens_);
      timeline_->advance(now, st);
    }
    touched_ns_ = now;
  }
}

std::vector<TimelineSample> Replica::finish_timeline(SimTimeNs now, double& interval_s) {
  if (!timeline_) return {};
  touch(now);
  timeline_->finish();
  interval_s = timeline_->row_interval_s();
  return std::move(timeline_->rows());
}

bool Replica::has_requests() const {
  return !queues_.waiting.empty() || !queues_.running.empty() || !queues_.swapped.empty() || !incoming_.empty();
}

std::int64_t Replica::waiting_count() const {
  return static_cast<std::int64_t>(queues_.waiting.size() + queues_.swapped.size() + incoming_.size());
}

std::int64_t Replica::batch_size() const {
  if (pp_ > 1) [[unlikely]] return in_flight_sequences_;
  return busy_ ? static_cast<std::int64_t>(plan_.work.size()) : 0;
}

ReplicaLoad Replica::load() const {
  ReplicaLoad l;
  l.running = running_count();
  l.outstanding = l.running + waiting_count();
  l.kv_utilization = static_cast<double>(kv_.used_bytes()) / static_cast<double>(kv_.capacity_bytes());
  return l;
}

// Bytes the tiers and the chunk store moved in this step, timed by their links (IterationShape).
void Replica::add_tier_traffic(IterationShape& shape) {
  shape.tier_load_bytes = shape.tier_load_s = shape.tier_store_bytes = shape.tier_store_s = 0;
  if (const KvTiers* tiers = kv_.tiers()) {
    const TierTraffic& t = tiers->traffic();
    for (std::size_t i = 0; i < tiers->size(); ++i) {
      shape.tier_load_bytes += t.load_bytes[i];
      shape.tier_store_bytes += t.store_bytes[i];
    }
    shape.tier_load_s = t.load_s;
    shape.tier_store_s = t.store_s;
  }
  if (const ChunkStore* chunks = kv_.chunk_store()) {  // chunk KV moves like tier blocks
    shape.tier_load_bytes += chunks->load_bytes();
    shape.tier_load_s += chunks->load_s();
    shape.tier_store_bytes += chunks->store_bytes();
    shape.tier_store_s += chunks->store_s();
  }
  shape.tier_load_layerwise = opt_.tier_load_layerwise;
  shape.tier_store_overlapped = opt_.tier_store_overlapped;
  kv_.clear_tier_traffic();
}

// The step of a replica on its own: the three parts in one function (the hot path of every run).
void Replica::start_iteration() {
  if (!plan()) return;
  launch(std::max<SimTimeNs>(1, units::s_to_ns(price(0))), true);
}

bool Replica::plan_step() { return plan(); }
double Replica::price_step(double moe_group_tokens) { return price(moe_group_tokens); }
void Replica::launch_step(SimTimeNs dt, bool own_event) { launch(dt, own_event); }

KVSIM_INLINE bool Replica::plan() {
  if (!incoming_.empty()) [[unlikely]] release_incoming();
  plan_.clear();
  SchedulerContext ctx{queues_, kv_, opt_.limits, events_.now()};
  scheduler_->schedule(ctx, plan_);
  if (caching_) [[unlikely]] {
    const KvManager::PrefixStats p = kv_.prefix_stats();
    host_.prefix_looked_up(p.lookup_tokens - last_prefix_.lookup_tokens, p.hit_tokens - last_prefix_.hit_tokens,
                           p.tier_hit_tokens - last_prefix_.tier_hit_tokens);
    if (timeline_) {
      timeline_->add_prefix(p.lookup_tokens - last_prefix_.lookup_tokens, p.hit_tokens - last_prefix_.hit_tokens,
                            p.tier_hit_tokens - last_prefix_.tier_hit_tokens);
    }
    last_prefix_ = p;
  }
  if (plan_.preemptions > 0) {
    c_.preemptions += plan_.preemptions;
    c_.recomputed_tokens += plan_.recomputed_tokens;
    host_.preempted(plan_.preemptions);
    if (timeline_) timeline_->add_preemptions(plan_.preemptions);
  }
  c_.swapped_out_bytes += plan_.swap_out_bytes;
  c_.swapped_in_bytes += plan_.swap_in_bytes;
  c_.peak_used_bytes = std::max(c_.peak_used_bytes, kv_.used_bytes());
  c_.peak_host_kv_bytes = std::max(c_.peak_host_kv_bytes, kv_.host_kv_used_bytes());
  if (plan_.work.empty()) {
    busy_ = false;
    // Nothing else will wake an engine that has requests but planned no work: that would be a hang. (A prefill
    // replica whose memory is held by KV on the move is woken when a move ends and frees it.)
    if ((!queues_.waiting.empty() || !queues_.running.empty() || !queues_.swapped.empty()) && handed_off_.empty() &&
        in_flight_.empty()) {
      throw std::logic_error("scheduler planned no work while requests are waiting or running");
    }
    return false;
  }
  busy_ = true;
  step_start_ns_ = events_.now();
  work_.clear();
  int sampled = 0;
  batch_tokens_ = 0;
  for (const ScheduledWork& w : plan_.work) {
    const Request& r = *w.request;
    work_.push_back({r.prompt_tokens, r.computed, w.tokens});
    if (r.computed + w.tokens == r.known_tokens()) ++sampled;
    batch_tokens_ += w.tokens;
  }
  // Every field a step sets is set here (the tier fields only ever with prefix caching, by add_tier_traffic()).
  shape_.work = work_;
  shape_.sampled_sequences = sampled;
  shape_.swap_out_bytes = plan_.swap_out_bytes;
  shape_.swap_in_bytes = plan_.swap_in_bytes;
  if (caching_) [[unlikely]] add_tier_traffic(shape_);
  // 0 outside CUDA graphs
  shape_.padded_tokens =
      (step_time_ ? opt_.profile.graph_tokens(batch_tokens_) - batch_tokens_ : 0) + plan_.padding_tokens;
  return true;
}

KVSIM_INLINE double Replica::price(double moe_group_tokens) {
  shape_.moe_group_tokens = moe_group_tokens;
  cost_.price(shape_, cost_result_);
  if (step_time_) [[unlikely]] add_engine_time(opt_.profile.graphed(batch_tokens_));
  return cost_result_.seconds;
}

KVSIM_INLINE void Replica::launch(SimTimeNs dt, bool own_event) {
  for (std::uint32_t m = cost_result_.present_mask; m != 0; m &= m - 1) {
    const auto i = static_cast<std::size_t>(std::countr_zero(m));
    const CostEstimate& c = cost_result_.ops[i];
    CostEstimate& t = c_.op_totals[i];
    t.seconds += c.seconds;
    t.flops += c.flops;
    t.bytes += c.bytes;
    t.source = c.source;
    c_.op_calls[i]++;
    c_.op_bound_seconds[i][static_cast<std::size_t>(c.bound)] += c.seconds;
  }
  c_.fetched_bytes += cost_result_.ops[static_cast<std::size_t>(OpId::kKvFetch)].bytes;
  c_.iterations++;
  c_.busy_ns += dt;
  c_.batch_size_sum += static_cast<double>(plan_.work.size());
  c_.batch_tokens_sum += static_cast<double>(batch_tokens_);
  c_.max_batch_size = std::max<std::int64_t>(c_.max_batch_size, static_cast<std::int64_t>(plan_.work.size()));
  if (own_event) events_.push(events_.now() + dt, EventPriority::kIterationDone, IterationDone{index_});
  if (!observers_.empty()) {
    IterationRecord rec;
    rec.start_ns = events_.now();
    rec.end_ns = events_.now() + dt;
    rec.replica = index_;
    for (const SeqWork& w : work_) (w.decode() ? rec.decodes : rec.prefills)++;
    rec.tokens = batch_tokens_;
    rec.preemptions = plan_.preemptions;
    rec.cost = &cost_result_;
    for (ISimObserver* o : observers_) o->on_iteration(rec);
  }
}

// Asynchronous scheduling: the requests that arrived before the step that just ended started become visible to the
// scheduler (the plan now made is, in the engine, the one made when that step started); all of them if nothing
// else could run (the engine would have gone idle and taken them at once).
void Replica::release_incoming() {
  const bool idle = queues_.waiting.empty() && queues_.running.empty() && queues_.swapped.empty();
  while (!incoming_.empty() && (idle || incoming_.front()->engine_arrival_ns <= step_start_ns_)) {
    queues_.waiting.push_back(incoming_.front());
    incoming_.pop_front();
  }
}

// The profile's engine time around the GPU's work (engine_profile.h): launches of a step outside CUDA graphs, and
// the CPU time the GPU's work does not hide.
void Replica::add_engine_time(bool graphed) {
  const EngineProfile& p = opt_.profile;
  const auto add = [this](OpId id, double seconds) {
    CostEstimate& e = cost_result_.ops[static_cast<std::size_t>(id)];
    e = CostEstimate{};
    e.seconds = seconds;
    e.bound = Bound::kLatency;
    cost_result_.mark(id);
    cost_result_.seconds += seconds;
  };
  if (p.cuda_graphs && !graphed) add(OpId::kEngineEager, p.eager_s_per_layer * cost_.model().num_layers);
  const double gpu_s = cost_result_.seconds;
  const double cpu_s = p.step_cpu_s(plan_.work.size(), batch_tokens_);
  if (cpu_s > 0) add(OpId::kEngineCpu, p.step_seconds(gpu_s, cpu_s) - gpu_s);
}

void Replica::finish_iteration(StepPlan& plan) {
  const SimTimeNs now = events_.now();
  bool any_finished = false;
  for (const ScheduledWork& w : plan.work) {
    Request& r = *w.request;
    if (r.state != RequestState::kRunning) continue;
    r.computed += w.tokens;
    kv_.settle(r, w.tokens);  // windows slide, budgets evict after prefill
    if (r.computed != r.known_tokens()) continue;
    r.generated++;
    if (r.first_token_ns < 0) {
      r.first_token_ns = now;
      host_.token_generated(-1);
    } else {
      const double itl = units::ns_to_s(now - r.last_token_ns);
      host_.token_generated(itl);
      r.max_itl_s = std::max(r.max_itl_s, itl);
    }
    r.last_token_ns = now;
    if (r.finished()) {
      kv_.finish(r);
      r.state = RequestState::kFinished;
      c_.completed++;
      host_.completed(r);
      any_finished = true;
    } else if (role_ == ReplicaRole::kPrefill) [[unlikely]] {
      // Its first token: the decode pool takes it from here (its KV stays until the move is done).
      r.state = RequestState::kTransferring;
      handed_off_.push_back(&r);
      host_.handed_off(r);
      any_finished = true;
    }
  }
  if (any_finished) {
    auto& run = queues_.running;
    run.erase(std::remove_if(run.begin(), run.end(),
                             [this](Request* r) {
                               if (r->state == RequestState::kTransferring) return true;  // handed off
                               if (r->state != RequestState::kFinished) return false;
                               host_.recycle(*r);
                               return true;
                             }),
              run.end());
  }
}

// ---- pipeline parallelism (pp_ > 1) ----

void Replica::schedule_microbatch() {
  // Stage 0 takes the next micro-batch once it is free.
  events_.push(std::max(events_.now(), stage_free_ns_[0]), EventPriority::kEngineStep, EngineStep{index_});
  step_pending_ = true;
}

void Replica::start_microbatch() {
  // Requests in flight wait for their tokens: the scheduler plans from the others, which keep their order.
  auto& run = queues_.running;
  held_.clear();
  if (!in_flight_.empty()) {
    run.erase(std::remove_if(run.begin(), run.end(),
                             [this](Request* r) {
                               if (!r->in_flight) return false;
                               held_.push_back(r);
                               return true;
                             }),
              run.end());
  }
  const bool planned = plan();
  run.insert(run.begin(), held_.begin(), held_.end());
  if (!planned) {
    busy_ = !in_flight_.empty();  // the next micro-batch to finish plans again
    batch_tokens_ = in_flight_tokens_;
    return;
  }
  const double step_s = price(0);
  // Every stage runs 1/P of the step, then hands its activations to the next stage's GPU.
  CostEstimate send = cost_.pipeline_send(step_tokens());
  const SimTimeNs now = events_.now();
  const SimTimeNs stage_ns = std::max<SimTimeNs>(1, units::s_to_ns(step_s / pp_));
  const SimTimeNs send_ns = units::s_to_ns(send.seconds);
  SimTimeNs t = now;
  for (std::size_t s = 0; s < stage_free_ns_.size(); ++s) {
    const SimTimeNs start = s == 0 ? std::max(now, stage_free_ns_[0]) : std::max(t + send_ns, stage_free_ns_[s]);
    stage_free_ns_[s] = start + stage_ns;
    t = stage_free_ns_[s];
  }
  send.seconds *= pp_ - 1;
  send.bytes *= pp_ - 1;
  cost_result_.ops[static_cast<std::size_t>(OpId::kPipelineSend)] = send;
  cost_result_.mark(OpId::kPipelineSend);
  launch(t - now, true);
  MicroBatch mb;
  if (!spare_plans_.empty()) {
    mb.plan = std::move(spare_plans_.back());
    spare_plans_.pop_back();
  }
  std::swap(mb.plan, plan_);
  for (const ScheduledWork& w : mb.plan.work) w.request->in_flight = true;
  mb.sequences = static_cast<std::int64_t>(mb.plan.work.size());
  mb.tokens = batch_tokens_;
  in_flight_sequences_ += mb.sequences;
  in_flight_tokens_ += mb.tokens;
  batch_tokens_ = in_flight_tokens_;
  in_flight_.push_back(std::move(mb));
  if (in_flight_.size() < static_cast<std::size_t>(pp_)) schedule_microbatch();
}

void Replica::finish_microbatch() {
  MicroBatch mb = std::move(in_flight_.front());  // micro-batches leave the last stage in order
  in_flight_.pop_front();
  for (const ScheduledWork& w : mb.plan.work) w.request->in_flight = false;
  finish_iteration(mb.plan);
  in_flight_sequences_ -= mb.sequences;
  in_flight_tokens_ -= mb.tokens;
  batch_tokens_ = in_flight_tokens_;
  busy_ = !in_flight_.empty();
  mb.plan.clear();
  spare_plans_.push_back(std::move(mb.plan));
  if (!pending_aborts_.empty()) [[unlikely]] process_aborts();
  if (!step_pending_) {
    if (events_.now() >= stage_free_ns_[0]) {
      start_microbatch();
    } else {
      schedule_microbatch();
    }
  }
}

std::int64_t Replica::check_invariants() {
  holders_.assign(handed_off_.begin(), handed_off_.end());  // their KV is still here
  for (const Request* r : queues_.running) {
    holders_.push_back(r);
    if (r->state != RequestState::kRunning) throw std::logic_error("running queue holds a non-running request");
  }
  for (const Request* r : queues_.waiting) {
    // A request whose prompt KV came from a prefill replica has computed its prompt, but holds nothing until admitted.
    if (r->device_bytes != 0 || r->host_bytes != 0 || (r->computed != 0 && !r->transferred)) {
      throw std::logic_error(fmt::format("waiting request {} holds KV", r->id));
    }
  }
  std::int64_t swapped = 0;
  for (const Request* r : queues_.swapped) {
    if (r->device_bytes != 0) throw std::logic_error("swapped request holds device KV");
    swapped += r->swapped_bytes;
  }
  kv_.check_invariants(holders_);
  if (swapped != kv_.swap_used_bytes()) throw std::logic_error("swap space differs from swapped requests' bytes");
  // Requests whose KV is moving to a decode replica count here until they arrive there.
  return static_cast<std::int64_t>(queues_.waiting.size() + incoming_.size() + queues_.running.size() +
                                   queues_.swapped.size() + handed_off_.size());
}

}  // namespace kvsim
