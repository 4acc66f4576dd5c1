// The discrete-event serving engine (see simulator.h).
#include "sim/engine/simulator.h"

#include <algorithm>
#include <bit>
#include <deque>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <variant>

#include <fmt/format.h>

#include "sim/core/event_queue.h"
#include "sim/core/units.h"

namespace kvsim {

namespace {
constexpr std::size_t kMaxTimelineRows = 2000;

// Values an event refers to by slot (events stay small): put() stores one, take() removes it; slots are reused.
template <class T>
class SlotTable {
 public:
  std::uint32_t put(T value) {
    std::uint32_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
      values_[slot] = std::move(value);
    } else {
      slot = static_cast<std::uint32_t>(values_.size());
      values_.push_back(std::move(value));
    }
    return slot;
  }
  T take(std::uint32_t slot) {
    free_.push_back(slot);
    return std::move(values_[slot]);
  }

 private:
  std::vector<T> values_;
  std::vector<std::uint32_t> free_;
};
constexpr std::size_t kMaxListedRejections = 20;

// Merges sample `b` (spanning `wb` ns) into `a` (spanning `wa` ns): time-weighted means, maxima, sums.
void merge_sample(TimelineSample& a, double wa, const TimelineSample& b, double wb) {
  const double w = wa + wb;
  a.kv_utilization = (a.kv_utilization * wa + b.kv_utilization * wb) / w;
  a.kv_utilization_max = std::max(a.kv_utilization_max, b.kv_utilization_max);
  a.running = (a.running * wa + b.running * wb) / w;
  a.waiting = (a.waiting * wa + b.waiting * wb) / w;
  a.batch_size = (a.batch_size * wa + b.batch_size * wb) / w;
  a.batch_tokens = (a.batch_tokens * wa + b.batch_tokens * wb) / w;
  a.preemptions += b.preemptions;
  a.prefix_lookup_tokens += b.prefix_lookup_tokens;
  a.prefix_hit_tokens += b.prefix_hit_tokens;
  a.prefix_tier_hit_tokens += b.prefix_tier_hit_tokens;
}

// Time-weighted accumulation of the engine state into fixed sampling intervals. Idle stretches (nothing running
// or waiting) are skipped: no rows are emitted for intervals in which the engine held no request.
class TimelineRecorder {
 public:
  TimelineRecorder(double interval_s, std::vector<ISimObserver*>& observers)
      : interval_ns_(std::max<SimTimeNs>(1, units::s_to_ns(interval_s))), observers_(observers) {}

  struct State {
    double kv_utilization = 0, running = 0, waiting = 0, batch_size = 0, batch_tokens = 0;
    bool idle() const { return running == 0 && waiting == 0 && batch_size == 0 && kv_utilization == 0; }
  };

  // Integrates `state` (constant since the last call) up to `now`, emitting finished intervals.
  void advance(SimTimeNs now, const State& s) {
    if (s.idle() && now > bucket_start_ + interval_ns_) {
      // Close the current interval and jump to the one containing `now`.
      if (last_ > bucket_start_) emit(static_cast<double>(last_ - bucket_start_));
      bucket_start_ = now - (now % interval_ns_);
      last_ = bucket_start_;
      return;
    }
    while (now > last_) {
      const SimTimeNs end = std::min(now, bucket_start_ + interval_ns_);
      const double dt = static_cast<double>(end - last_);
      acc_.kv_utilization += s.kv_utilization * dt;
      acc_.running += s.running * dt;
      acc_.waiting += s.waiting * dt;
      acc_.batch_size += s.batch_size * dt;
      acc_.batch_tokens += s.batch_tokens * dt;
      in_system_integral_ += (s.running + s.waiting) * dt;
      kv_integral_ += s.kv_utilization * dt;
      max_util_ = std::max(max_util_, s.kv_utilization);
      last_ = end;
      if (end == bucket_start_ + interval_ns_) {
        emit(static_cast<double>(interval_ns_));
        bucket_start_ += interval_ns_;
      }
    }
    max_util_ = std::max(max_util_, s.kv_utilization);
  }
  void add_preemptions(int n) { preemptions_ += n; }
  void add_prefix(std::int64_t lookup, std::int64_t hit, std::int64_t tier_hit) {
    prefix_.prefix_lookup_tokens += lookup;
    prefix_.prefix_hit_tokens += hit;
    prefix_.prefix_tier_hit_tokens += tier_hit;
  }

  // Emits the last, partial interval and flushes rows held for merging.
  void finish() {
    if (last_ > bucket_start_) emit(static_cast<double>(last_ - bucket_start_));
    if (pending_count_ > 0) rows_.push_back(pending_);
    pending_count_ = 0;
  }

  double kv_integral_ns() const { return kv_integral_; }
  double in_system_integral_ns() const { return in_system_integral_; }
  std::vector<TimelineSample>& rows() { return rows_; }
  double row_interval_s() const { return units::ns_to_s(interval_ns_) * merge_; }

 private:
  void emit(double span_ns) {
    TimelineSample t;
    t.time_s = units::ns_to_s(bucket_start_);
    t.kv_utilization = acc_.kv_utilization / span_ns;
    t.kv_utilization_max = max_util_;
    t.running = acc_.running / span_ns;
    t.waiting = acc_.waiting / span_ns;
    t.batch_size = acc_.batch_size / span_ns;
    t.batch_tokens = acc_.batch_tokens / span_ns;
    t.preemptions = preemptions_;
    t.prefix_lookup_tokens = prefix_.prefix_lookup_tokens;
    t.prefix_hit_tokens = prefix_.prefix_hit_tokens;
    t.prefix_tier_hit_tokens = prefix_.prefix_tier_hit_tokens;
    prefix_ = TimelineSample{};
    for (ISimObserver* o : observers_) o->on_timeline_sample(t);
    keep(t, span_ns);
    acc_ = State{};
    max_util_ = 0;
    preemptions_ = 0;
  }
  // Keeps a bounded copy for results.json (at most kMaxTimelineRows): `merge_` consecutive samples make one row,
  // and when the rows would exceed the bound, neighbouring rows are merged and `merge_` doubles.
  void keep(const TimelineSample& t, double span_ns) {
    if (pending_count_ == 0) {
      pending_ = t;
      pending_span_ = span_ns;
    } else {
      merge_sample(pending_, pending_span_, t, span_ns);
      pending_span_ += span_ns;
    }
    if (++pending_count_ < merge_) return;
    rows_.push_back(pending_);
    pending_count_ = 0;
    if (rows_.size() >= kMaxTimelineRows) {
      std::vector<TimelineSample> merged;
      for (std::size_t i = 0; i < rows_.size(); i += 2) {
        TimelineSample m = rows_[i];
        if (i + 1 < rows_.size()) merge_sample(m, 1.0, rows_[i + 1], 1.0);
        merged.push_back(m);
      }
      rows_ = std::move(merged);
      merge_ *= 2;
    }
  }

  SimTimeNs interval_ns_;
  std::vector<ISimObserver*>& observers_;
  SimTimeNs bucket_start_ = 0, last_ = 0;
  State acc_;
  double max_util_ = 0;
  std::int64_t preemptions_ = 0;
  TimelineSample prefix_;  // prefix-cache counts of the open interval
  double kv_integral_ = 0, in_system_integral_ = 0;
  std::vector<TimelineSample> rows_;
  int merge_ = 1;
  TimelineSample pending_;
  double pending_span_ = 0;
  int pending_count_ = 0;
};
}  // namespace

class Simulator::Impl {
 public:
  Impl(const SimOptions& o, ITraceReader& workload, IScheduler& scheduler, const IterationCostModel& cost,
       std::vector<ISimObserver*> observers)
      : opt_(o),
        workload_(workload),
        scheduler_(scheduler),
        cost_(cost),
        observers_(std::move(observers)),
        kv_(cost.layout(), o.kv_capacity_bytes, o.host_kv_bytes, o.swap_bytes, o.preemption, prefix_options(o, cost)),
        timeline_(o.timeline_interval_s, observers_) {}

  // Bytes the tiers and the chunk store moved in this step, timed by their links (IterationShape).
  void add_tier_traffic(IterationShape& shape) {
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

  static PrefixCacheOptions prefix_options(const SimOptions& o, const IterationCostModel& cost) {
    PrefixCacheOptions p;
    p.enabled = o.prefix_caching;
    p.mode = o.prefix_cache_mode;
    if (o.eviction) p.eviction = o.eviction();
    if (!o.tiers.empty()) p.tiers = std::make_unique<KvTiers>(o.tiers, cost.layout().block_bytes(), o.tier_offload);
    if (o.chunk_reuse) {
      p.chunks = std::make_unique<ChunkStore>(*o.chunk_reuse, cost.layout().device_bytes_per_token());
    }
    return p;
  }

  RunSummary run() {
    pull_next_arrival();
    while (!events_.empty()) {
      const QueuedEvent e = events_.pop();
      timeline_.advance(e.time_ns, state());
      std::visit([this](const auto& ev) { handle(ev); }, e.event);
      if (opt_.check_invariants) check_invariants();
    }
    if (!queues_.waiting.empty() || !queues_.running.empty() || !queues_.swapped.empty() || !incoming_.empty()) {
      throw std::logic_error("simulation ended with unfinished requests");
    }
    for (const SessionTurns& s : sessions_) {
      if (s.outstanding || !s.parked.empty()) throw std::logic_error("simulation ended with a session's turn held");
    }
    timeline_.finish();
    if (s_.arrived == 0) throw KvsimError(workload_.describe() + ": the workload has no requests");
    return summarize();
  }

 private:
  // ---- events ----
  void handle(const RequestArrival&) {
    TraceRecord rec = std::move(*pending_);
    pending_.reset();
    if (rec.closed_loop) {
      route_turn(rec);
    } else {
      send(rec);
    }
    pull_next_arrival();
    wake();
  }
  void handle(const DeferredArrival& e) {
    Deferred d = deferred_.take(e.slot);
    if (d.at_engine) {
      enter(d.rec);
    } else {
      send(d.rec);
    }
    wake();
  }
  // The client sends `rec` now; the engine has it after the profile's time outside the engine.
  void send(TraceRecord& rec) {
    rec.arrival_ns = events_.now();
    const double front_s = opt_.profile.front_s(rec.prompt_tokens);
    if (front_s > 0) {
      defer(events_.now() + units::s_to_ns(front_s), rec, true);
    } else {
      enter(rec);
    }
  }
  // The engine receives `rec` now.
  void enter(TraceRecord& rec) {
    if (rec.closed_loop) {
      accept_turn(rec);
    } else {
      accept(rec);
    }
  }
  void handle(const ClientTimeout& e) {
    const auto [request, id] = timeouts_.take(e.slot);
    Request& r = *request;
    if (r.id != id || r.state == RequestState::kFinished) return;  // done, or its object serves another request
    if (busy_) {
      pending_aborts_.push_back({&r, id});  // after the running step, as an engine aborts between steps
    } else {
      abort(r);
    }
  }
  void process_aborts() {
    for (const auto& [r, id] : pending_aborts_) {
      if (r->id == id && r->state != RequestState::kFinished) abort(*r);
    }
    pending_aborts_.clear();
  }
  // The engine aborts `r` (its client gave up): its memory returns, it leaves its queue, it is reported timed out.
  void abort(Request& r) {
    const auto drop = [&r](auto& q) { q.erase(std::remove(q.begin(), q.end(), &r), q.end()); };
    drop(queues_.waiting);
    drop(queues_.running);
    drop(queues_.swapped);
    drop(incoming_);
    kv_.abort(r);
    r.state = RequestState::kFinished;
    s_.timed_out++;
    RequestRecord out = record_of(r);
    out.timed_out = true;
    out.reject_reason = fmt::format("timed out: its client gave up after {:g} s (workload.client_timeout_s) with {} "
                                    "of {} output tokens",
                                    opt_.client_timeout_s, r.generated, r.output_tokens);
    for (ISimObserver* o : observers_) o->on_request_finished(out);
    if (r.session >= 0) turn_done(r.session);
    free_requests_.push_back(&r);
  }

  // An engine step at this time, unless one runs or is due.
  void wake() {
    if (!busy_ && !step_pending_) {
      events_.push(events_.now(), EventPriority::kEngineStep, EngineStep{});
      step_pending_ = true;
    }
  }

  // ---- closed-loop sessions (TraceRecord::closed_loop) ----
  // A turn read from the stream at its earliest arrival: a first turn arrives now; a later one waits behind its
  // session's outstanding turn, or arrives its think time after the previous turn finished.
  void route_turn(TraceRecord& rec) {
    const auto [it, added] = session_index_.try_emplace(rec.session_id, static_cast<std::int32_t>(sessions_.size()));
    if (added) sessions_.emplace_back();
    SessionTurns& s = sessions_[static_cast<std::size_t>(it->second)];
    if (rec.turn > 0 && s.outstanding) {
      s.parked.push_back(std::move(rec));
      return;
    }
    s.outstanding = true;
    const SimTimeNs at = rec.turn > 0 ? std::max(events_.now(), s.done_ns + rec.think_ns) : events_.now();
    if (at > events_.now()) {
      defer(at, rec, false);
      return;
    }
    send(rec);
  }
  // Accepts a turn the engine receives now; its session's next turn waits until it finishes (or is sent at once, if
  // this one is rejected).
  void accept_turn(TraceRecord& rec) {
    const std::int32_t index = session_index_.at(rec.session_id);
    sessions_[static_cast<std::size_t>(index)].outstanding = true;
    if (Request* r = accept(rec)) {
      r->session = index;
    } else {
      turn_done(index);
    }
  }
  // The session's outstanding turn finished now (its client has the reply `output_s` later): its next turn, if read
  // already, is sent its think time after that.
  void turn_done(std::int32_t index) {
    SessionTurns& s = sessions_[static_cast<std::size_t>(index)];
    s.outstanding = false;
    s.done_ns = events_.now() + units::s_to_ns(opt_.profile.output_s);
    if (s.parked.empty()) return;
    TraceRecord rec = std::move(s.parked.front());
    s.parked.pop_front();
    s.outstanding = true;
    defer(s.done_ns + rec.think_ns, rec, false);
  }
  // Holds `rec` until `at`: then the engine receives it (`at_engine`), or its client sends it.
  void defer(SimTimeNs at, TraceRecord& rec, bool at_engine) {
    events_.push(at, EventPriority::kArrival, DeferredArrival{deferred_.put(Deferred{std::move(rec), at_engine})});
  }
  void handle(const EngineStep&) {
    step_pending_ = false;
    start_iteration();
  }
  void handle(const IterationDone&) {
    finish_iteration();
    if (!pending_aborts_.empty()) [[unlikely]] process_aborts();
    start_iteration();
  }

  void pull_next_arrival() {
    pending_ = workload_.next();
    if (!pending_) return;
    if (pending_->arrival_ns < events_.now()) {
      throw KvsimError(fmt::format("{}: line {}: arrival time goes backwards", workload_.describe(),
                                   pending_->source_line));
    }
    events_.push(pending_->arrival_ns, EventPriority::kArrival, RequestArrival{});
  }

  // ---- admission ----
  // The request of `rec`, or null if it is rejected.
  Request* accept(TraceRecord& rec) {
    const RequestId id = s_.arrived++;
    std::string reason;
    KvManager::Footprint peak;
    // Compared one by one first so that huge lengths cannot overflow the sum.
    if (rec.prompt_tokens > opt_.max_model_len || rec.output_tokens > opt_.max_model_len ||
        rec.prompt_tokens + rec.output_tokens > opt_.max_model_len) {
      reason = fmt::format("prompt + output tokens exceed max_model_len ({})", opt_.max_model_len);
    } else if (peak = kv_.peak_footprint(rec.prompt_tokens, rec.prompt_tokens + rec.output_tokens - 1,
                                       {opt_.limits.chunked_prefill, opt_.limits.max_num_batched_tokens}),
               peak.device_bytes > kv_.capacity_bytes()) {
      reason = "needs more KV memory (KV blocks) than the whole device pool holds";
    } else if (peak.host_bytes > kv_.host_kv_capacity_bytes()) {
      reason = "needs more host KV memory than engine.host_kv_GiB";
    } else if (!opt_.limits.chunked_prefill && rec.prompt_tokens > opt_.limits.max_num_batched_tokens) {
      reason = "prompt longer than max_num_batched_tokens and chunked prefill is off";
    }
    if (!reason.empty()) {
      reject(id, rec, reason);
      return nullptr;
    }
    Request* r = new_request();
    r->id = id;
    r->arrival_ns = rec.arrival_ns;
    r->engine_arrival_ns = events_.now();
    r->prompt_tokens = rec.prompt_tokens;
    r->output_tokens = rec.output_tokens;
    if (opt_.prefix_caching) {
      r->content_ids = std::move(rec.hash_ids);
      r->content_block_tokens = rec.hash_block_tokens;
      r->content_tokens = r->prompt_tokens;
      if (opt_.chunk_reuse) r->chunks = std::move(rec.chunks);
      if (!rec.output_content_ids.empty()) {  // per-token ids of the reply: its blocks are cached as they fill
        r->content_ids.insert(r->content_ids.end(), rec.output_content_ids.begin(), rec.output_content_ids.end());
        r->content_tokens += static_cast<TokenCount>(rec.output_content_ids.size());
      }
    }
    // With asynchronous scheduling the step after the running one was planned when the running one started: a
    // request arriving meanwhile waits for the plan after it (vLLM's AsyncScheduler).
    if (opt_.profile.async_scheduling && busy_) {
      incoming_.push_back(r);
    } else {
      queues_.waiting.push_back(r);
    }
    if (opt_.client_timeout_s > 0) {
      events_.push(r->arrival_ns + units::s_to_ns(opt_.client_timeout_s), EventPriority::kArrival,
                   ClientTimeout{timeouts_.put({r, r->id})});
    }
    return r;
  }

  void reject(RequestId id, const TraceRecord& rec, const std::string& reason) {
    s_.rejected++;
    s_.rejections_by_reason[reason]++;
    if (s_.first_rejections.size() < kMaxListedRejections) s_.first_rejections.emplace_back(id, reason);
    RequestRecord out;
    out.id = id;
    out.arrival_s = units::ns_to_s(rec.arrival_ns);
    out.prompt_tokens = rec.prompt_tokens;
    out.output_tokens = rec.output_tokens;
    out.reject_reason = reason;
    for (ISimObserver* o : observers_) o->on_request_finished(out);
  }

  // ---- iterations ----
  void start_iteration() {
    if (!incoming_.empty()) [[unlikely]] release_incoming();
    plan_.clear();
    SchedulerContext ctx{queues_, kv_, opt_.limits, events_.now()};
    scheduler_.schedule(ctx, plan_);
    if (opt_.prefix_caching) [[unlikely]] {
      const KvManager::PrefixStats p = kv_.prefix_stats();
      timeline_.add_prefix(p.lookup_tokens - last_prefix_.lookup_tokens, p.hit_tokens - last_prefix_.hit_tokens,
                           p.tier_hit_tokens - last_prefix_.tier_hit_tokens);
      last_prefix_ = p;
    }
    if (plan_.preemptions > 0) {
      s_.preemptions += plan_.preemptions;
      s_.recomputed_tokens += plan_.recomputed_tokens;
      timeline_.add_preemptions(plan_.preemptions);
    }
    s_.swapped_out_bytes += plan_.swap_out_bytes;
    s_.swapped_in_bytes += plan_.swap_in_bytes;
    s_.peak_used_bytes = std::max(s_.peak_used_bytes, kv_.used_bytes());
    s_.peak_host_kv_bytes = std::max(s_.peak_host_kv_bytes, kv_.host_kv_used_bytes());
    if (plan_.work.empty()) {
      busy_ = false;
      // Nothing else will wake an engine that has requests but planned no work: that would be a hang.
      if (!queues_.waiting.empty() || !queues_.running.empty() || !queues_.swapped.empty()) {
        throw std::logic_error("scheduler planned no work while requests are waiting or running");
      }
      return;
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
    IterationShape shape;
    shape.work = work_;
    shape.sampled_sequences = sampled;
    shape.swap_out_bytes = plan_.swap_out_bytes;
    shape.swap_in_bytes = plan_.swap_in_bytes;
    if (opt_.prefix_caching) [[unlikely]] add_tier_traffic(shape);
    if (step_time_) [[unlikely]] {
      shape.padded_tokens = opt_.profile.graph_tokens(batch_tokens_) - batch_tokens_;  // 0 outside CUDA graphs
      cost_.price(shape, cost_result_);
      add_engine_time(opt_.profile.graphed(batch_tokens_));
    } else {
      cost_.price(shape, cost_result_);
    }
    for (std::uint32_t m = cost_result_.present_mask; m != 0; m &= m - 1) {
      const auto i = static_cast<std::size_t>(std::countr_zero(m));
      const CostEstimate& c = cost_result_.ops[i];
      CostEstimate& t = s_.op_totals[i];
      t.seconds += c.seconds;
      t.flops += c.flops;
      t.bytes += c.bytes;
      t.source = c.source;
      s_.op_calls[i]++;
      s_.op_bound_seconds[i][static_cast<std::size_t>(c.bound)] += c.seconds;
    }
    s_.fetched_bytes += cost_result_.ops[static_cast<std::size_t>(OpId::kKvFetch)].bytes;
    s_.iterations++;
    batch_size_sum_ += static_cast<double>(plan_.work.size());
    batch_tokens_sum_ += static_cast<double>(batch_tokens_);
    s_.max_batch_size = std::max<std::int64_t>(s_.max_batch_size, static_cast<std::int64_t>(plan_.work.size()));
    const SimTimeNs dt = std::max<SimTimeNs>(1, units::s_to_ns(cost_result_.seconds));
    events_.push(events_.now() + dt, EventPriority::kIterationDone, IterationDone{});
    if (!observers_.empty()) {
      IterationRecord rec;
      rec.start_ns = events_.now();
      rec.end_ns = events_.now() + dt;
      for (const SeqWork& w : work_) (w.decode() ? rec.decodes : rec.prefills)++;
      rec.tokens = batch_tokens_;
      rec.preemptions = plan_.preemptions;
      for (ISimObserver* o : observers_) o->on_iteration(rec);
    }
  }

  // Asynchronous scheduling: the requests that arrived before the step that just ended started become visible to the
  // scheduler (the plan now made is, in the engine, the one made when that step started); all of them if nothing
  // else could run (the engine would have gone idle and taken them at once).
  void release_incoming() {
    const bool idle = queues_.waiting.empty() && queues_.running.empty() && queues_.swapped.empty();
    while (!incoming_.empty() && (idle || incoming_.front()->engine_arrival_ns <= step_start_ns_)) {
      queues_.waiting.push_back(incoming_.front());
      incoming_.pop_front();
    }
  }

  // The profile's engine time around the GPU's work (engine_profile.h): launches of a step outside CUDA graphs, and
  // the CPU time the GPU's work does not hide.
  void add_engine_time(bool graphed) {
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

  void finish_iteration() {
    const SimTimeNs now = events_.now();
    bool any_finished = false;
    for (const ScheduledWork& w : plan_.work) {
      Request& r = *w.request;
      if (r.state != RequestState::kRunning) continue;
      r.computed += w.tokens;
      kv_.settle(r, w.tokens);  // windows slide, budgets evict after prefill
      if (r.computed != r.known_tokens()) continue;
      r.generated++;
      s_.output_tokens_generated++;
      if (r.first_token_ns < 0) {
        r.first_token_ns = now;
      } else {
        const double itl = units::ns_to_s(now - r.last_token_ns);
        s_.itl_s.add(itl);
        r.max_itl_s = std::max(r.max_itl_s, itl);
      }
      r.last_token_ns = now;
      if (r.finished()) {
        complete(r);
        any_finished = true;
      }
    }
    if (any_finished) {
      auto& run = queues_.running;
      run.erase(std::remove_if(run.begin(), run.end(),
                               [this](Request* r) {
                                 if (r->state != RequestState::kFinished) return false;
                                 free_requests_.push_back(r);
                                 return true;
                               }),
                run.end());
    }
    busy_ = false;
    batch_tokens_ = 0;
    plan_.work.clear();
  }

  // What every record of `r` says: who, when its client sent it, its lengths, its preemptions.
  static RequestRecord record_of(const Request& r) {
    RequestRecord out;
    out.id = r.id;
    out.arrival_s = units::ns_to_s(r.arrival_ns);
    out.prompt_tokens = r.prompt_tokens;
    out.output_tokens = r.output_tokens;
    out.preemptions = r.preemptions;
    return out;
  }

  void complete(Request& r) {
    kv_.finish(r);
    if (r.session >= 0) turn_done(r.session);
    r.state = RequestState::kFinished;
    s_.completed++;
    s_.prompt_tokens_completed += r.prompt_tokens;
    s_.output_tokens_requested_completed += r.output_tokens;
    if (r.preemptions > 0) s_.preempted_requests++;
    RequestRecord out = record_of(r);
    out.completed = true;
    // The queue is the engine's; the client has each token output_s after its step.
    out.queue_s = units::ns_to_s(r.first_scheduled_ns - r.engine_arrival_ns);
    const SimTimeNs lag = units::s_to_ns(opt_.profile.output_s);
    out.ttft_s = units::ns_to_s(r.first_token_ns + lag - r.arrival_ns);
    out.e2e_s = units::ns_to_s(r.last_token_ns + lag - r.arrival_ns);
    if (r.output_tokens > 1) {
      out.tpot_s = units::ns_to_s(r.last_token_ns - r.first_token_ns) / static_cast<double>(r.output_tokens - 1);
    }
    out.max_itl_s = r.max_itl_s;
    s_.ttft_s.add(out.ttft_s);
    s_.e2e_s.add(out.e2e_s);
    s_.queue_s.add(out.queue_s);
    if (out.tpot_s) s_.tpot_s.add(*out.tpot_s);
    for (ISimObserver* o : observers_) o->on_request_finished(out);
  }

  Request* new_request() {
    if (!free_requests_.empty()) {
      Request* r = free_requests_.back();
      free_requests_.pop_back();
      std::vector<std::int64_t> pages = std::move(r->pages);
      *r = Request{};
      r->pages = std::move(pages);
      std::fill(r->pages.begin(), r->pages.end(), 0);
      return r;
    }
    storage_.emplace_back();
    return &storage_.back();
  }

  TimelineRecorder::State state() const {
    TimelineRecorder::State st;
    st.kv_utilization = static_cast<double>(kv_.used_bytes()) / static_cast<double>(kv_.capacity_bytes());
    st.running = static_cast<double>(queues_.running.size());
    st.waiting = static_cast<double>(queues_.waiting.size() + queues_.swapped.size() + incoming_.size());
    st.batch_size = busy_ ? static_cast<double>(plan_.work.size()) : 0.0;
    st.batch_tokens = static_cast<double>(batch_tokens_);
    return st;
  }

  void check_invariants() {
    holders_.clear();
    for (const Request* r : queues_.running) {
      holders_.push_back(r);
      if (r->state != RequestState::kRunning) throw std::logic_error("running queue holds a non-running request");
    }
    for (const Request* r : queues_.waiting) {
      if (r->device_bytes != 0 || r->host_bytes != 0 || r->computed != 0) {
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
    const auto in_system = static_cast<std::int64_t>(queues_.waiting.size() + incoming_.size() + queues_.running.size() +
                                                     queues_.swapped.size());
    if (s_.completed + s_.rejected + s_.timed_out + in_system != s_.arrived) {
      throw std::logic_error("request accounting: arrived != completed + rejected + timed out + in system");
    }
  }

  RunSummary summarize() {
    RunSummary s = std::move(s_);
    const double end_ns = static_cast<double>(events_.now());
    s.simulated_time_s = units::ns_to_s(events_.now());
    s.mean_kv_utilization = end_ns > 0 ? timeline_.kv_integral_ns() / end_ns : 0;
    s.mean_requests_in_system = end_ns > 0 ? timeline_.in_system_integral_ns() / end_ns : 0;
    s.mean_batch_size = s.iterations ? batch_size_sum_ / static_cast<double>(s.iterations) : 0;
    s.mean_batch_tokens = s.iterations ? batch_tokens_sum_ / static_cast<double>(s.iterations) : 0;
    s.timeline = std::move(timeline_.rows());
    s.timeline_interval_s = timeline_.row_interval_s();
    s.used_bytes_at_end = kv_.used_bytes() + kv_.host_kv_used_bytes() + kv_.swap_used_bytes();
    s.capacity_bytes = kv_.capacity_bytes();
    s.prefix = kv_.prefix_stats();
    if (const ChunkStore* chunks = kv_.chunk_store()) s.chunk_store = chunks->stats();
    if (const KvTiers* tiers = kv_.tiers()) {
      for (std::size_t t = 0; t < tiers->size(); ++t) {
        s.tiers.push_back({tiers->spec(t).name, tiers->stats(t), kv_.layout().block_size});
      }
    }
    return s;
  }

  SimOptions opt_;
  ITraceReader& workload_;
  IScheduler& scheduler_;
  const IterationCostModel& cost_;
  std::vector<ISimObserver*> observers_;
  KvManager kv_;
  KvManager::PrefixStats last_prefix_;  // counters at the previous step, for the timeline's per-interval counts
  EventQueue events_;
  EngineQueues queues_;
  TimelineRecorder timeline_;
  std::optional<TraceRecord> pending_;
  // Closed-loop sessions: per session (by id), whether a turn is outstanding (held for its think time, waiting or
  // running), when its last turn finished, and the later turns read from the stream meanwhile; the turns held for
  // their think time or the time outside the engine, by DeferredArrival slot.
  struct SessionTurns {
    bool outstanding = false;
    SimTimeNs done_ns = 0;
    std::deque<TraceRecord> parked;
  };
  std::unordered_map<std::string, std::int32_t> session_index_;
  std::vector<SessionTurns> sessions_;
  struct Deferred {
    TraceRecord rec;
    bool at_engine = false;
  };
  SlotTable<Deferred> deferred_;
  // Client timeouts: the request each ClientTimeout slot watches (with its id: the object may be reused), and the
  // ones that expired during the running step.
  SlotTable<std::pair<Request*, RequestId>> timeouts_;
  std::vector<std::pair<Request*, RequestId>> pending_aborts_;
  std::deque<Request> storage_;
  std::vector<Request*> free_requests_;
  StepPlan plan_;
  std::vector<SeqWork> work_;
  std::vector<const Request*> holders_;
  IterationCost cost_result_;
  TokenCount batch_tokens_ = 0;
  bool busy_ = false, step_pending_ = false;
  SimTimeNs step_start_ns_ = 0;    // when the running (or last) step started
  std::deque<Request*> incoming_;  // arrived during a step under asynchronous scheduling, not yet schedulable
  const bool step_time_ = opt_.profile.adds_step_time();  // read once: every step asks
  double batch_size_sum_ = 0, batch_tokens_sum_ = 0;
  RunSummary s_;
};

Simulator::Simulator(const SimOptions& options, ITraceReader& workload, IScheduler& scheduler,
                     const IterationCostModel& cost, std::vector<ISimObserver*> observers)
    : impl_(std::make_unique<Impl>(options, workload, scheduler, cost, std::move(observers))) {}
Simulator::~Simulator() = default;
RunSummary Simulator::run() { return impl_->run(); }

}  // namespace kvsim
