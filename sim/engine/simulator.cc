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

#include "sim/cluster/link_sharing.h"
#include "sim/cluster/router.h"
#include "sim/core/event_queue.h"
#include "sim/core/interrupt.h"
#include "sim/core/units.h"
#include "sim/engine/expert_group.h"
#include "sim/engine/replica.h"
#include "sim/metrics/timeline.h"

namespace kvsim {

namespace {

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


}  // namespace

class Simulator::Impl final : public ReplicaHost, public ClusterView {
 public:
  Impl(const SimOptions& o, ITraceReader& workload, const SchedulerFactory& schedulers, const IterationCostModel& cost,
       std::vector<ISimObserver*> observers)
      : opt_(o), workload_(workload), observers_(std::move(observers)), timeline_(o.timeline_interval_s, observers_) {
    for (ISimObserver* obs : observers_) {
      if (obs->wants_iterations()) iteration_observers_.push_back(obs);
    }
    if (o.replicas < 1) throw std::logic_error("a cluster needs at least one replica");
    replicas_.reserve(static_cast<std::size_t>(o.replicas));
    for (std::int32_t i = 0; i < o.replicas; ++i) {
      const ReplicaRole role = o.prefill_replicas == 0 ? ReplicaRole::kMixed
                               : i < o.prefill_replicas ? ReplicaRole::kPrefill
                                                        : ReplicaRole::kDecode;
      const bool other_gpu = role == ReplicaRole::kDecode && o.decode_cost != nullptr;
      const IterationCostModel& priced = !o.replica_cost.empty() ? *o.replica_cost[static_cast<std::size_t>(i)]
                                         : other_gpu               ? *o.decode_cost
                                                                   : cost;
      replicas_.push_back(std::make_unique<Replica>(i, role, opt_, schedulers(), priced,
                                                    !o.replica_kv_capacity_bytes.empty()
                                                        ? o.replica_kv_capacity_bytes[static_cast<std::size_t>(i)]
                                                    : other_gpu ? o.decode_kv_capacity_bytes
                                                                : o.kv_capacity_bytes,
                                                    events_, *this, iteration_observers_));
    }
    if (o.expert_group_ranks > 1) {  // expert parallelism across replicas: consecutive replicas step together
      if (o.replicas % o.expert_group_ranks != 0) throw std::logic_error("expert groups must divide the replicas");
      for (std::int32_t i = 0; i < o.replicas; i += o.expert_group_ranks) {
        std::vector<Replica*> members;
        for (std::int32_t j = i; j < i + o.expert_group_ranks; ++j) members.push_back(replicas_[j].get());
        groups_.push_back(std::make_unique<ExpertGroup>(members, events_));
        for (Replica* m : members) m->join(groups_.back().get());
      }
    }
    entry_count_ = o.prefill_replicas > 0 ? o.prefill_replicas : o.replicas;
    if (o.prefill_replicas > 0) decode_router_ = o.decode_router();
    if (o.prefill_replicas > 0 && o.topology != nullptr) {
      if (o.replica_gpus.size() != replicas_.size()) throw std::logic_error("every replica needs its GPUs");
      links_ = std::make_unique<LinkSharing>(*o.topology);
    }
    counts_.resize(replicas_.size());
    single_ = replicas_.size() == 1;
    for (const auto& r : replicas_) fleet_capacity_bytes_ += static_cast<double>(r->kv().capacity_bytes());
    router_ = o.router ? o.router() : nullptr;
    if (entry_count_ > 1 && !router_) throw std::logic_error("a cluster of several replicas needs a router");
    if (o.prefill_replicas > 0 && (!decode_router_ || o.prefill_replicas >= o.replicas)) {
      throw std::logic_error("disaggregation needs decode replicas and their router");
    }
  }

  RunSummary run() {
    pull_next_arrival();
    while (!events_.empty()) {
      throw_if_interrupted();  // SIGINT/SIGTERM: unwind (sim/core/interrupt.h)
      const QueuedEvent e = events_.pop();
      timeline_.advance(e.time_ns, state());
      std::visit([this](const auto& ev) { handle(ev); }, e.event);
      if (opt_.check_invariants) check_invariants();
    }
    for (const auto& r : replicas_) {
      if (r->has_requests()) throw std::logic_error("simulation ended with unfinished requests");
    }
    for (const SessionTurns& s : sessions_) {
      if (s.outstanding || !s.parked.empty()) throw std::logic_error("simulation ended with a session's turn held");
    }
    timeline_.finish();
    if (s_.arrived == 0) throw KvsimError(workload_.describe() + ": the workload has no requests");
    return summarize();
  }

  // ---- ReplicaHost ----
  void token_generated(double itl_s) override {
    s_.output_tokens_generated++;
    if (itl_s >= 0) s_.itl_s.add(itl_s);
  }
  void completed(Request& r) override {
    if (r.session >= 0) turn_done(r.session);
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
  void recycle(Request& r) override { free_requests_.push_back(&r); }
  // A prefill replica handed `r` off at its first token: the decode router chooses where it decodes, and its KV
  // starts moving there.
  void handed_off(Request& r) override {
    decode_view_.refresh_for(*this);
    const std::int32_t d = decode_router_->route(TraceRecord{}, decode_view_);
    if (d < 0 || d >= opt_.replicas - opt_.prefill_replicas) throw std::logic_error("decode router chose no replica");
    r.move_to = opt_.prefill_replicas + d;
    const double bytes = static_cast<double>(replica(r.replica).kv().held_bytes(r) + r.host_bytes);
    s_.transfers++;
    s_.transfer_bytes += bytes;
    r.move_slot = transfers_.put({&r, r.id});
    // Streamed while the prefill ran (from its first scheduled chunk to its first token): what is left at the end
    // is the last layer's KV if the link kept up, else what the link could not send in that time.
    const double prefill_s = units::ns_to_s(events_.now() - r.first_scheduled_ns);
    const auto left_s = [&](double all_s) {
      return opt_.transfer_layerwise_layers > 0
                 ? std::max(all_s / static_cast<double>(opt_.transfer_layerwise_layers), all_s - prefill_s)
                 : all_s;
    };
    if (links_) [[unlikely]] {
      // One flow per tensor-parallel rank, each that rank's share, sharing the links with the other moves.
      const auto& from = opt_.replica_gpus[static_cast<std::size_t>(r.replica)];
      const auto& to = opt_.replica_gpus[static_cast<std::size_t>(r.move_to)];
      const double per_flow = bytes / static_cast<double>(std::max(from.size(), to.size()));
      const Topology::Path alone = opt_.topology->path(from.front(), to.front());
      const double send = opt_.transfer_layerwise_layers == 0 || alone.links.empty()
                              ? per_flow
                              : left_s(per_flow / alone.bottleneck_Bps) * alone.bottleneck_Bps;
      links_->start(r.move_slot, from, to, send, per_flow, events_.now());
      wake_links();
      return;
    }
    const double seconds = opt_.transfer_latency_s + left_s(bytes / opt_.transfer_bandwidth_Bps);
    r.transfer_s = seconds;
    s_.transfer_s.add(seconds);
    events_.push(events_.now() + units::s_to_ns(seconds), EventPriority::kArrival, KvTransferDone{r.move_slot});
  }
  // The next time a move on the topology's links finishes sending (earlier wakes become stale).
  void wake_links() {
    ++link_generation_;
    const SimTimeNs t = links_->next_finish_ns();
    if (t >= 0) events_.push(std::max(t, events_.now()), EventPriority::kArrival, LinkWake{link_generation_});
  }
  void aborted(Request& r) override {
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
  void prefix_looked_up(std::int64_t lookup, std::int64_t hit, std::int64_t tier_hit) override {
    timeline_.add_prefix(lookup, hit, tier_hit);
  }
  void preempted(int n) override { timeline_.add_preemptions(n); }

  // ---- ClusterView ----
  // Replicas report their load every router_state_delay_s (the first report at the first routing): a router sees
  // loads at most that old; with 0, the load now.
  std::span<const ReplicaLoad> loads() override {
    const SimTimeNs now = events_.now();
    if (view_.empty() || opt_.router_state_delay_s <= 0 || now >= view_time_ + view_delay_ns_) {
      view_.resize(static_cast<std::size_t>(entry_count_));  // the replicas new requests go to
      for (std::size_t i = 0; i < view_.size(); ++i) view_[i] = replicas_[i]->load();
      view_time_ = now;
    }
    return view_;
  }
  TokenCount cached_prefix_tokens(std::int32_t replica) override {
    return routing_ == nullptr ? 0 : replicas_[static_cast<std::size_t>(replica)]->cached_prefix_tokens(*routing_);
  }

 private:
  Replica& replica(std::int32_t i) { return *replicas_[static_cast<std::size_t>(i)]; }

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
  }
  void handle(const DeferredArrival& e) {
    Deferred d = deferred_.take(e.slot);
    if (d.at_engine) {
      enter(d.rec);
    } else {
      send(d.rec);
    }
  }
  void handle(const EngineStep& e) {
    Replica& r = replica(e.replica);
    if (r.group() != nullptr) [[unlikely]] return group_event(*r.group(), &ExpertGroup::on_engine_step);
    r.touch(events_.now());
    r.on_engine_step();
    refresh(r);
  }
  void handle(const IterationDone& e) {
    Replica& r = replica(e.replica);
    if (r.group() != nullptr) [[unlikely]] return group_event(*r.group(), &ExpertGroup::on_iteration_done);
    r.touch(events_.now());
    r.on_iteration_done();
    refresh(r);
  }
  // An expert group's step changes every member.
  void group_event(ExpertGroup& g, void (ExpertGroup::*fn)()) {
    for (Replica* m : g.members()) m->touch(events_.now());
    (g.*fn)();
    for (Replica* m : g.members()) refresh(*m);
  }
  // A request's KV reached the decode pool: its prefill replica frees it, the decode router chooses where it decodes.
  void handle(const LinkWake& e) {
    if (e.generation != link_generation_) return;  // the links' rates changed since
    link_finished_.clear();
    links_->advance(events_.now(), link_finished_);
    for (const LinkSharing::Finished& f : link_finished_) {
      events_.push(events_.now() + units::s_to_ns(f.latency_s), EventPriority::kArrival, KvTransferDone{f.tag});
    }
    wake_links();
  }
  void handle(const KvTransferDone& e) {
    const auto [request, id] = transfers_.take(e.slot);
    Request& r = *request;
    if (r.id != id || r.state != RequestState::kTransferring) return;  // aborted meanwhile (its client gave up)
    if (links_) [[unlikely]] {
      r.transfer_s = units::ns_to_s(events_.now() - r.last_token_ns);  // from its first token, when it was handed off
      s_.transfer_s.add(r.transfer_s);
    }
    Replica& from = replica(r.replica);
    from.touch(events_.now());
    from.release(r);
    refresh(from);
    r.transferred = true;
    r.state = RequestState::kWaiting;
    Replica& to = replica(r.move_to);
    to.touch(events_.now());
    to.admit(&r);
    refresh(to);
  }
  void handle(const ClientTimeout& e) {
    const auto [request, id] = timeouts_.take(e.slot);
    Request& r = *request;
    if (r.id != id || r.state == RequestState::kFinished) return;  // done, or its object serves another request
    Replica& rep = replica(r.replica);
    if (r.state == RequestState::kTransferring) {  // in no step: aborted at once, its KV stops moving
      if (links_) [[unlikely]] {
        // Still sending: no KvTransferDone will come for it (one that already finished sending has one pending).
        if (links_->cancel(r.move_slot, events_.now())) transfers_.take(r.move_slot);
        wake_links();
      }
      rep.touch(events_.now());
      rep.abort_handed_off(r);
      refresh(rep);
      return;
    }
    rep.touch(events_.now());
    rep.on_client_timeout(r);
    refresh(rep);
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
  // The replica that serves `rec` (its request `r`): the router's choice (one replica: that one).
  std::int32_t route(const TraceRecord& rec, Request& r) {
    if (entry_count_ == 1) return 0;
    routing_ = &r;
    const std::int32_t i = router_->route(rec, *this);
    routing_ = nullptr;
    if (i < 0 || i >= entry_count_) throw std::logic_error("router chose no replica");
    return i;
  }

  // The request of `rec`, or null if it is rejected.
  Request* accept(TraceRecord& rec) {
    const RequestId id = s_.arrived++;
    Request* r = new_request();
    r->id = id;
    r->arrival_ns = rec.arrival_ns;
    r->engine_arrival_ns = events_.now();
    r->prompt_tokens = rec.prompt_tokens;
    r->output_tokens = rec.output_tokens;
    r->request_class = rec.request_class;
    r->priority = opt_.class_priority.empty() ? 0 : opt_.class_priority[rec.request_class];
    s_.prompt_tokens.add(static_cast<double>(rec.prompt_tokens));
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
    Replica& target = replica(route(rec, *r));
    std::string reason = target.admission_problem(rec);
    // Decode replicas of another GPU must be able to hold it too.
    if (reason.empty() && opt_.decode_cost != nullptr) {
      if (std::string d = replica(opt_.prefill_replicas).admission_problem(rec); !d.empty()) reason = "decode pool: " + d;
    }
    if (!reason.empty()) {
      free_requests_.push_back(r);
      reject(id, rec, reason, target.index());
      return nullptr;
    }
    target.touch(events_.now());
    target.admit(r);
    refresh(target);
    if (opt_.client_timeout_s > 0) {
      events_.push(r->arrival_ns + units::s_to_ns(opt_.client_timeout_s), EventPriority::kArrival,
                   ClientTimeout{timeouts_.put({r, r->id})});
    }
    return r;
  }

  void reject(RequestId id, const TraceRecord& rec, const std::string& reason, std::int32_t replica) {
    s_.rejected++;
    s_.rejections_by_reason[reason]++;
    if (s_.first_rejections.size() < kMaxListedRejections) s_.first_rejections.emplace_back(id, reason);
    RequestRecord out;
    out.id = id;
    out.arrival_s = units::ns_to_s(rec.arrival_ns);
    out.prompt_tokens = rec.prompt_tokens;
    out.output_tokens = rec.output_tokens;
    out.reject_reason = reason;
    out.replica = replica;
    out.request_class = rec.request_class;
    for (ISimObserver* o : observers_) o->on_request_finished(out);
  }

  // What every record of `r` says: who, when its client sent it, its lengths, its preemptions.
  static RequestRecord record_of(const Request& r) {
    RequestRecord out;
    out.id = r.id;
    out.arrival_s = units::ns_to_s(r.arrival_ns);
    out.prompt_tokens = r.prompt_tokens;
    out.output_tokens = r.output_tokens;
    out.preemptions = r.preemptions;
    out.replica = r.replica;
    out.request_class = r.request_class;
    if (r.transferred) out.transfer_s = r.transfer_s;
    return out;
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

  // The fleet's state for the timeline: sums over replicas (kept as each replica changes: refresh()), KV utilization
  // of the fleet's pools together.
  struct Counts {
    std::int64_t used_bytes = 0, running = 0, waiting = 0, batch_size = 0, batch_tokens = 0;
  };
  static Counts counts_of(const Replica& r) {
    return {r.kv().used_bytes(), r.running_count(), r.waiting_count(), r.batch_size(), r.batch_tokens()};
  }
  void refresh(const Replica& r) {
    if (single_) return;  // state() reads the one replica directly
    Counts& old = counts_[static_cast<std::size_t>(r.index())];
    const Counts now = counts_of(r);
    fleet_.used_bytes += now.used_bytes - old.used_bytes;
    fleet_.running += now.running - old.running;
    fleet_.waiting += now.waiting - old.waiting;
    fleet_.batch_size += now.batch_size - old.batch_size;
    fleet_.batch_tokens += now.batch_tokens - old.batch_tokens;
    old = now;
  }
  TimelineRecorder::State state() const {
    TimelineRecorder::State st;
    if (single_) {
      const Replica& r = *replicas_.front();
      st.kv_utilization = static_cast<double>(r.kv().used_bytes()) / fleet_capacity_bytes_;
      st.running = static_cast<double>(r.running_count());
      st.waiting = static_cast<double>(r.waiting_count());
      st.batch_size = static_cast<double>(r.batch_size());
      st.batch_tokens = static_cast<double>(r.batch_tokens());
      return st;
    }
    st.kv_utilization = static_cast<double>(fleet_.used_bytes) / fleet_capacity_bytes_;
    st.running = static_cast<double>(fleet_.running);
    st.waiting = static_cast<double>(fleet_.waiting);
    st.batch_size = static_cast<double>(fleet_.batch_size);
    st.batch_tokens = static_cast<double>(fleet_.batch_tokens);
    return st;
  }

  void check_invariants() {
    std::int64_t in_system = 0;
    for (const auto& r : replicas_) in_system += r->check_invariants();
    if (s_.completed + s_.rejected + s_.timed_out + in_system != s_.arrived) {
      throw std::logic_error("request accounting: arrived != completed + rejected + timed out + in system");
    }
  }

  RunSummary summarize() {
    RunSummary s = std::move(s_);
    if (links_) s.transfer_bytes_by_link_class = links_->bytes_by_class();
    const double end_ns = static_cast<double>(events_.now());
    s.simulated_time_s = units::ns_to_s(events_.now());
    s.mean_kv_utilization = end_ns > 0 ? timeline_.kv_integral_ns() / end_ns : 0;
    s.mean_requests_in_system = end_ns > 0 ? timeline_.in_system_integral_ns() / end_ns : 0;
    double batch_size_sum = 0, batch_tokens_sum = 0;
    for (const auto& rep : replicas_) {
      rep->touch(events_.now());
      const ReplicaCounters& c = rep->counters();
      s.iterations += c.iterations;
      s.preemptions += c.preemptions;
      s.recomputed_tokens += c.recomputed_tokens;
      s.swapped_out_bytes += c.swapped_out_bytes;
      s.swapped_in_bytes += c.swapped_in_bytes;
      s.fetched_bytes += c.fetched_bytes;
      s.max_batch_size = std::max(s.max_batch_size, c.max_batch_size);
      s.peak_used_bytes = std::max(s.peak_used_bytes, c.peak_used_bytes);
      s.peak_host_kv_bytes = std::max(s.peak_host_kv_bytes, c.peak_host_kv_bytes);
      batch_size_sum += c.batch_size_sum;
      batch_tokens_sum += c.batch_tokens_sum;
      for (std::size_t i = 0; i < kNumOpIds; ++i) {
        CostEstimate& t = s.op_totals[i];
        const CostEstimate& r = c.op_totals[i];
        t.seconds += r.seconds;
        t.flops += r.flops;
        t.bytes += r.bytes;
        if (c.op_calls[i] > 0) t.source = r.source;
        s.op_calls[i] += c.op_calls[i];
        for (std::size_t b = 0; b < 3; ++b) s.op_bound_seconds[i][b] += c.op_bound_seconds[i][b];
      }
      if (opt_.topology != nullptr) [[unlikely]] {
        const IterationCostModel::Links& l = rep->cost().links();
        for (const auto& [id, cls] : {std::pair{OpId::kAllReduce, &l.tp_class}, std::pair{OpId::kAllToAll, &l.ep_class},
                                      std::pair{OpId::kPipelineSend, &l.pp_class}}) {
          const double bytes = c.op_totals[static_cast<std::size_t>(id)].bytes;
          if (bytes > 0 && !cls->empty()) s.collective_bytes_by_link_class[*cls] += bytes;
        }
      }
      const KvManager& kv = rep->kv();
      s.used_bytes_at_end += kv.used_bytes() + kv.host_kv_used_bytes() + kv.swap_used_bytes();
      // One replica's pool: the first's (pools of other cards or layouts: summary.cluster.cost.pools).
      if (rep->index() == 0) s.capacity_bytes = kv.capacity_bytes();
      s.prefix += kv.prefix_stats();
      if (const ChunkStore* chunks = kv.chunk_store()) s.chunk_store += chunks->stats();
      if (const KvTiers* tiers = kv.tiers()) {
        for (std::size_t t = 0; t < tiers->size(); ++t) {
          if (s.tiers.size() <= t) s.tiers.push_back({tiers->spec(t).name, {}, kv.layout().block_size});
          s.tiers[t].stats += tiers->stats(t);
        }
      }
      RunSummary::ReplicaSummary per;
      per.role = rep->role() == ReplicaRole::kPrefill  ? "prefill"
                 : rep->role() == ReplicaRole::kDecode ? "decode"
                                                       : "mixed";
      per.admitted = c.admitted;
      per.completed = c.completed;
      per.iterations = c.iterations;
      per.preemptions = c.preemptions;
      per.mean_batch_size = c.iterations ? c.batch_size_sum / static_cast<double>(c.iterations) : 0;
      per.peak_kv_utilization = static_cast<double>(c.peak_used_bytes) / static_cast<double>(kv.capacity_bytes());
      per.mean_kv_utilization = end_ns > 0 ? c.kv_integral_ns / end_ns : 0;
      per.busy_fraction = end_ns > 0 ? std::min(1.0, static_cast<double>(c.busy_ns) / end_ns) : 0;
      per.prefix_hit_tokens = kv.prefix_stats().hit_tokens;
      per.prefix_lookup_tokens = kv.prefix_stats().lookup_tokens;
      per.timeline = rep->finish_timeline(events_.now(), per.timeline_interval_s);
      s.replicas.push_back(per);
    }
    s.mean_batch_size = s.iterations ? batch_size_sum / static_cast<double>(s.iterations) : 0;
    s.mean_batch_tokens = s.iterations ? batch_tokens_sum / static_cast<double>(s.iterations) : 0;
    s.timeline = std::move(timeline_.rows());
    s.timeline_interval_s = timeline_.row_interval_s();
    return s;
  }

  SimOptions opt_;
  ITraceReader& workload_;
  std::vector<ISimObserver*> observers_;
  std::vector<ISimObserver*> iteration_observers_;  // those of observers_ that want each iteration (replicas tell them)
  EventQueue events_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  std::vector<std::unique_ptr<ExpertGroup>> groups_;  // expert parallelism across replicas; else none
  std::unique_ptr<IRouter> router_;
  bool single_ = false;         // one replica: no sums to keep
  std::vector<Counts> counts_;  // each replica's counts as last refreshed, and their sums
  Counts fleet_;
  double fleet_capacity_bytes_ = 0;
  std::vector<ReplicaLoad> view_;  // the loads the router last heard (ClusterView)
  Request* routing_ = nullptr;     // the request being routed (ClusterView::cached_prefix_tokens)
  std::int32_t entry_count_ = 1;   // replicas new requests go to: all, or the prefill pool
  // The decode pool as its router sees it: the decode replicas' loads now (the KV has arrived), no cached prefixes.
  class DecodeView final : public ClusterView {
   public:
    void refresh_for(const Impl& c) {
      loads_.clear();
      for (std::size_t i = static_cast<std::size_t>(c.opt_.prefill_replicas); i < c.replicas_.size(); ++i) {
        loads_.push_back(c.replicas_[i]->load());
      }
    }
    std::span<const ReplicaLoad> loads() override { return loads_; }
    TokenCount cached_prefix_tokens(std::int32_t) override { return 0; }

   private:
    std::vector<ReplicaLoad> loads_;
  };
  DecodeView decode_view_;
  std::unique_ptr<IRouter> decode_router_;
  SlotTable<std::pair<Request*, RequestId>> transfers_;  // KvTransferDone slots
  std::unique_ptr<LinkSharing> links_;                   // with disaggregation on a topology
  std::uint32_t link_generation_ = 0;
  std::vector<LinkSharing::Finished> link_finished_;
  SimTimeNs view_time_ = 0;
  const SimTimeNs view_delay_ns_ = units::s_to_ns(opt_.router_state_delay_s);
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
  // Client timeouts: the request each ClientTimeout slot watches (with its id: the object may be reused).
  SlotTable<std::pair<Request*, RequestId>> timeouts_;
  std::deque<Request> storage_;
  std::vector<Request*> free_requests_;
  RunSummary s_;
};

Simulator::Simulator(const SimOptions& options, ITraceReader& workload, const SchedulerFactory& schedulers,
                     const IterationCostModel& cost, std::vector<ISimObserver*> observers)
    : impl_(std::make_unique<Impl>(options, workload, schedulers, cost, std::move(observers))) {}
Simulator::~Simulator() = default;
RunSummary Simulator::run() { return impl_->run(); }

}  // namespace kvsim
