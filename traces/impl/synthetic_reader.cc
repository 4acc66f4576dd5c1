// Synthetic request streams: see synthetic_reader.h.
#include "traces/impl/synthetic_reader.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <queue>
#include <span>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "sim/core/units.h"
#include "traces/content_ids.h"
#include "traces/impl/arrival_clock.h"
#include "traces/synthetic.h"

namespace kvsim::trace_impl {

namespace {

// Raw content ids (before chaining, traces/content_ids.h), one per content position: a shared prefix group's, a
// retrieved document's, or a request's or session's own. The top bits keep the three kinds apart.
constexpr std::uint64_t group_id(std::size_t group, std::uint64_t position) {
  return (static_cast<std::uint64_t>(group) << 32) | position;
}
constexpr std::uint64_t document_id(std::size_t document, std::uint64_t position) {
  return (std::uint64_t{1} << 62) | (static_cast<std::uint64_t>(document) << 24) | position;
}
constexpr std::uint64_t own_id(std::int64_t owner, std::uint64_t position) {
  return (std::uint64_t{1} << 63) | (static_cast<std::uint64_t>(owner) << 24) | position;
}

// Items of drawn lengths (shared prompts, documents), picked with P(item i) proportional to (i + 1)^-exponent: 0 is
// uniform, 1 Zipf. `rng`: the items' own stream, past the draws of their lengths.
class PopularItems {
 public:
  PopularItems(std::vector<TokenCount> lengths, double exponent, Rng rng)
      : lengths_(std::move(lengths)), exponent_(exponent), rng_(std::move(rng)) {
    double sum = 0;
    for (std::size_t i = 0; i < lengths_.size(); ++i) {
      sum += std::pow(static_cast<double>(i + 1), -exponent);
      cumulative_.push_back(sum);
    }
  }
  std::size_t pick() {
    const double u = rng_.uniform01() * cumulative_.back();
    const auto i = static_cast<std::size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), u) -
                                            cumulative_.begin());
    return std::min(i, cumulative_.size() - 1);
  }
  // Draws an item not in `taken` (ascending, fewer than size() items), P(item i) proportional to its weight among
  // the items left: what drawing with pick() until an item not taken comes up gives, in one draw. Needed where
  // popularity is skewed: with exponent 4, 92 of 500 documents leave items so rare that redrawing ran for minutes
  // (found by fuzz_scenario), and a weight that underflows to 0 is never drawn. When every item left has weight 0,
  // the first of them (lowest index: the most popular) is the draw.
  std::size_t pick_excluding(const std::vector<std::size_t>& taken) {
    // The items left form runs [start, end) between taken ones; a run's weight is a difference of cumulative sums.
    struct Run {
      std::size_t start, end;
      double before, weight;  // cumulative weight before `start`; the run's own
    };
    std::vector<Run> runs;
    double left = 0;
    std::size_t start = 0;
    for (std::size_t k = 0; k <= taken.size(); ++k) {
      const std::size_t end = k < taken.size() ? taken[k] : cumulative_.size();
      if (start < end) {
        const double before = start == 0 ? 0.0 : cumulative_[start - 1];
        runs.push_back({start, end, before, cumulative_[end - 1] - before});
        left += runs.back().weight;
      }
      start = end + 1;
    }
    double u = rng_.uniform01() * left;
    for (const Run& run : runs) {
      // The last run, if it weighs anything, takes a u that rounding left past every run.
      if (run.weight > 0 && (u < run.weight || &run == &runs.back())) {
        const auto it = std::upper_bound(cumulative_.begin() + static_cast<std::ptrdiff_t>(run.start),
                                         cumulative_.begin() + static_cast<std::ptrdiff_t>(run.end), run.before + u);
        return std::min(static_cast<std::size_t>(it - cumulative_.begin()), run.end - 1);
      }
      u -= run.weight;
    }
    return runs.front().start;  // every item left weighs 0 (or rounding passed them all): the most popular
  }
  TokenCount length(std::size_t i) const { return lengths_[i]; }
  std::size_t size() const { return lengths_.size(); }
  double exponent() const { return exponent_; }

 private:
  std::vector<TokenCount> lengths_;
  double exponent_;
  Rng rng_;
  std::vector<double> cumulative_;
};

// Shared system prompts (`synthetic.prefix`): `groups` prefixes whose lengths are drawn once, in group order; each
// request picks one (P(group g) proportional to (g + 1)^-popularity_exponent: 0 is uniform, 1 Zipf) and its drawn
// prompt length becomes a unique suffix after it. Content ids, one per `block_tokens` tokens: a block wholly inside
// the shared prefix has its group's id for that position, any other block an id of its own request.
class PrefixGroups {
 public:
  PrefixGroups(PopularItems groups, TokenCount block_tokens) : groups_(std::move(groups)), block_(block_tokens) {}
  // Draws a group and appends its prompt's raw per-token ids to `raw`.
  void append_tokens(std::vector<std::uint64_t>& raw) {
    const std::size_t group = groups_.pick();
    for (TokenCount i = 0; i < groups_.length(group); ++i) {
      raw.push_back(group_id(group, static_cast<std::uint64_t>(i)));
    }
  }
  // Prepends a shared prefix to `record` (whose prompt_tokens is the unique suffix) and fills its content ids.
  void apply(TraceRecord& record, std::int64_t index) {
    const std::size_t group = groups_.pick();
    const TokenCount shared = groups_.length(group);
    record.prompt_tokens += shared;
    record.hash_block_tokens = block_;
    record.hash_ids.clear();
    for (TokenCount start = 0; start < record.prompt_tokens; start += block_) {
      const bool in_prefix = start + block_ <= shared;
      // High bit set: a request's own block; clear: a group's (ids never collide across the two kinds).
      const auto position = static_cast<std::uint64_t>(start / block_);
      record.hash_ids.push_back(in_prefix ? group_id(group, position) : own_id(index, position));
    }
  }
  std::string describe() const {
    return fmt::format("{} shared prefixes (popularity exponent {:g}, {}-token content blocks)", groups_.size(),
                       groups_.exponent(), block_);
  }

 private:
  PopularItems groups_;
  TokenCount block_;
};

// Retrieved documents (`synthetic.rag`): `documents` chunks whose lengths are drawn once, in document order; each
// request holds `chunks_per_request` distinct ones (P(document d) proportional to (d + 1)^-popularity_exponent),
// after its shared prefix if `prefix` is given and before its own question (the prompt length distribution).
// Content ids are per token (chained): a prefix's tokens carry their group's ids, a chunk's its document's, the
// question its request's; the record lists its chunks (TraceRecord::chunks) for non-prefix reuse.
class RagChunks {
 public:
  RagChunks(PopularItems documents, int per_request) : documents_(std::move(documents)), per_request_(per_request) {}
  // `record.prompt_tokens` is the question; prepends the prefix (if any) and the chunks, fills content and chunks.
  void apply(TraceRecord& record, std::int64_t index, PrefixGroups* prefixes) {
    std::vector<std::uint64_t> raw;
    if (prefixes != nullptr) prefixes->append_tokens(raw);
    std::vector<std::size_t> taken;  // the documents drawn so far, ascending (record.chunks has them in draw order)
    while (static_cast<int>(taken.size()) < per_request_) {
      // Redraw a taken document a few times (the usual case: results as they always were), then draw from the
      // documents left directly; either gives the same distribution.
      std::size_t d = documents_.pick();
      for (int redraw = 0; std::binary_search(taken.begin(), taken.end(), d); ++redraw) {
        d = redraw < kRedraws ? documents_.pick() : documents_.pick_excluding(taken);
      }
      taken.insert(std::upper_bound(taken.begin(), taken.end(), d), d);
      const TokenCount start = static_cast<TokenCount>(raw.size());
      for (TokenCount i = 0; i < documents_.length(d); ++i) {
        raw.push_back(document_id(d, static_cast<std::uint64_t>(i)));
      }
      record.chunks.push_back({start, documents_.length(d), static_cast<std::uint64_t>(d) + 1});
    }
    for (TokenCount i = 0; i < record.prompt_tokens; ++i) raw.push_back(own_id(index, static_cast<std::uint64_t>(i)));
    record.prompt_tokens = static_cast<TokenCount>(raw.size());
    chain_token_ids(raw);
    record.hash_ids = std::move(raw);
    record.hash_block_tokens = 1;
  }
  std::string describe() const {
    return fmt::format("{} of {} retrieved chunks (popularity exponent {:g})", per_request_, documents_.size(),
                       documents_.exponent());
  }

 private:
  static constexpr int kRedraws = 16;
  PopularItems documents_;
  int per_request_;
};

// Multi-turn sessions (`synthetic.sessions`): the arrival process starts sessions; a session has a number of turns
// drawn from `turns`; each turn's prompt is the session's history (its shared prefix, every earlier prompt and
// reply) followed by new text whose length the prompt distribution gives; its reply's length the output
// distribution gives. The next turn arrives an exponential think time (mean `think_time_s`) after this one
// finished (closed loop, the default: the user reads the reply, then writes; the engine holds the turn until then,
// TraceRecord::closed_loop) or after this one arrived (`loop: open`: it does not wait for the reply; a turn can
// then arrive before the reply it holds was generated). Content ids are per token (chained,
// traces/content_ids.h): a shared prefix's tokens carry their group's ids, the rest ids of their own session; the
// reply's ids come with the record (output_content_ids), as the engine's generated tokens are the next prompt's.
struct SessionSettings {
  std::unique_ptr<ILengthDistribution> turns;
  double think_time_s = 60;
  bool closed_loop = true;
};

class SyntheticReader final : public ITraceReader {
 public:
  SyntheticReader(ArrivalClock clock, std::unique_ptr<ILengthDistribution> prompt,
                  std::unique_ptr<ILengthDistribution> output, std::uint64_t seed,
                  std::optional<std::int64_t> num_requests, std::optional<SimTimeNs> duration_ns,
                  std::optional<PrefixGroups> prefixes, std::optional<SessionSettings> sessions,
                  std::optional<RagChunks> rag)
      : clock_(std::move(clock)),
        prompt_(std::move(prompt)),
        output_(std::move(output)),
        prompt_rng_(seed, RngStream::kPromptLengths),
        output_rng_(seed, RngStream::kOutputLengths),
        joint_(prompt_->rows() != nullptr && prompt_->rows() == output_->rows()),
        num_requests_(num_requests),
        duration_ns_(duration_ns),
        prefixes_(std::move(prefixes)),
        sessions_(std::move(sessions)),
        rag_(std::move(rag)),
        session_rng_(seed, RngStream::kSessions) {}

  std::optional<TraceRecord> next() override {
    if (done_ || (num_requests_ && produced_ >= *num_requests_)) return std::nullopt;
    if (sessions_) return next_turn();
    TraceRecord record;
    record.arrival_ns = clock_.next();
    if (duration_ns_ && record.arrival_ns >= *duration_ns_) {
      done_ = true;
      return std::nullopt;
    }
    draw_lengths(record.prompt_tokens, record.output_tokens);
    if (rag_) {
      rag_->apply(record, produced_, prefixes_ ? &*prefixes_ : nullptr);
    } else if (prefixes_) {
      prefixes_->apply(record, produced_);
    }
    ++produced_;
    return record;
  }

  bool has_arrivals() const override { return true; }

 private:
  void draw_lengths(TokenCount& prompt, TokenCount& output) {
    if (joint_) {
      const LengthTable& rows = *prompt_->rows();
      const auto row = static_cast<std::size_t>(
          prompt_rng_.uniform_int(0, static_cast<std::int64_t>(rows.prompt_tokens.size()) - 1));
      prompt = rows.prompt_tokens[row];
      output = rows.output_tokens[row];
    } else {
      prompt = prompt_->sample(prompt_rng_);
      output = output_->sample(output_rng_);
    }
  }

  struct Session {
    std::int64_t id = 0;
    std::int64_t turns_left = 0, turn = 0;
    std::vector<std::uint64_t> history;  // chained per-token content ids of everything said so far
    std::uint64_t chain = kTokenChainRoot;  // the last of them (the root before the first)
    SimTimeNs think_ns = 0;                 // before the next turn
  };
  struct PendingTurn {
    SimTimeNs arrival_ns;
    std::int64_t session;  // key in sessions_in_flight_
    bool operator>(const PendingTurn& o) const {
      return arrival_ns != o.arrival_ns ? arrival_ns > o.arrival_ns : session > o.session;
    }
  };

  // The next turn of any session, in arrival order (a new session's first turn, or a later turn).
  std::optional<TraceRecord> next_turn() {
    if (!next_start_ns_) next_start_ns_ = clock_.next();
    std::int64_t sid;
    SimTimeNs arrival;
    if (!pending_.empty() && pending_.top().arrival_ns <= *next_start_ns_) {
      sid = pending_.top().session;
      arrival = pending_.top().arrival_ns;
      pending_.pop();
    } else {
      sid = next_session_++;
      arrival = *next_start_ns_;
      next_start_ns_.reset();
      Session s;
      s.id = sid;
      s.turns_left = sessions_->turns->sample(session_rng_);
      if (prefixes_) {
        prefixes_->append_tokens(s.history);
        s.chain = chain_token_ids(s.history);
      }
      in_flight_.emplace(sid, std::move(s));
    }
    if (duration_ns_ && arrival >= *duration_ns_) {
      done_ = true;
      return std::nullopt;
    }
    Session& s = in_flight_.at(sid);
    TraceRecord record;
    record.arrival_ns = arrival;
    TokenCount new_text = 0;
    draw_lengths(new_text, record.output_tokens);
    // The new text's ids and the reply's continue the session's chain: the next turn's prompt starts with both.
    const auto say = [&](TokenCount tokens) {
      const std::size_t from = s.history.size();
      for (TokenCount i = 0; i < tokens; ++i) s.history.push_back(own_id(s.id, s.history.size()));
      s.chain = chain_token_ids(std::span(s.history).subspan(from), s.chain);
    };
    say(new_text);
    record.prompt_tokens = static_cast<TokenCount>(s.history.size());
    say(record.output_tokens);
    record.hash_ids.assign(s.history.begin(), s.history.begin() + record.prompt_tokens);
    record.output_content_ids.assign(s.history.begin() + record.prompt_tokens, s.history.end());
    record.hash_block_tokens = 1;
    record.session_id = fmt::format("s{}", s.id);
    record.turn = s.turn++;
    record.closed_loop = sessions_->closed_loop;
    record.think_ns = s.think_ns;
    if (--s.turns_left > 0) {
      // The next turn's think time; with a closed loop its arrival here is the earliest it can come.
      s.think_ns = units::s_to_ns(session_rng_.exponential(1.0 / sessions_->think_time_s));
      pending_.push({arrival + s.think_ns, sid});
    } else {
      in_flight_.erase(sid);
    }
    ++produced_;
    return record;
  }

 public:

  std::string describe() const override {
    std::string bound;
    if (num_requests_) bound = fmt::format("{} requests", *num_requests_);
    if (duration_ns_) bound += fmt::format("{}{:g} s", bound.empty() ? "" : " or ", units::ns_to_s(*duration_ns_));
    if (sessions_) {
      return fmt::format("synthetic sessions, {}: session starts {}; turns {}, think time exponential mean {:g} s "
                         "after the {}; each prompt = {}the history + new text of {}; output {}{}",
                         bound, clock_.describe(), sessions_->turns->describe(), sessions_->think_time_s,
                         sessions_->closed_loop ? "reply (closed loop)" : "previous turn's arrival (open loop)",
                         prefixes_ ? prefixes_->describe() + " + " : "", prompt_->describe(), output_->describe(),
                         joint_ ? " (new text and output from one row)" : "");
    }
    return fmt::format("synthetic workload of {}: arrivals {}; prompt {}{}{}; output {}{}", bound, clock_.describe(),
                       prefixes_ ? prefixes_->describe() + " + " : "", rag_ ? rag_->describe() + " + " : "",
                       prefixes_ || rag_ ? "a unique suffix of " + prompt_->describe() : prompt_->describe(),
                       output_->describe(), joint_ ? " (prompt and output from one row)" : "");
  }

 private:
  ArrivalClock clock_;
  std::unique_ptr<ILengthDistribution> prompt_, output_;
  Rng prompt_rng_, output_rng_;
  bool joint_;
  std::optional<std::int64_t> num_requests_;
  std::optional<SimTimeNs> duration_ns_;
  std::optional<PrefixGroups> prefixes_;
  std::optional<SessionSettings> sessions_;
  std::optional<RagChunks> rag_;
  Rng session_rng_;
  std::optional<SimTimeNs> next_start_ns_;  // the next session's start, drawn ahead
  std::int64_t next_session_ = 0;
  std::unordered_map<std::int64_t, Session> in_flight_;
  std::priority_queue<PendingTurn, std::vector<PendingTurn>, std::greater<PendingTurn>> pending_;
  std::int64_t produced_ = 0;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<ITraceReader> make_synthetic_reader(ParamReader& synthetic, std::uint64_t seed,
                                                    const std::filesystem::path& base_dir) {
  const auto num_requests = synthetic.get_optional<std::int64_t>("num_requests");
  const auto duration_s = synthetic.get_optional<double>("duration_s");
  synthetic.check(num_requests || duration_s, "num_requests",
                  "required key is missing; expected num_requests (a request count) and/or duration_s (seconds) "
                  "to bound the synthetic stream");
  if (num_requests) {
    synthetic.check(*num_requests >= 1, "num_requests", fmt::format("{} is not valid; expected an integer >= 1",
                                                                    *num_requests));
  }
  if (duration_s) {
    synthetic.check(std::isfinite(*duration_s) && *duration_s > 0, "duration_s",
                    fmt::format("{} is not valid; expected seconds > 0", *duration_s));
  }
  ParamReader arrival = synthetic.child("arrival");
  ParamReader prompt = synthetic.child("prompt_tokens");
  ParamReader output = synthetic.child("output_tokens");
  std::optional<PrefixGroups> prefixes;
  if (synthetic.has("prefix")) {
    ParamReader prefix = synthetic.child("prefix");
    const auto groups = prefix.require<std::int64_t>("groups");
    prefix.check(groups >= 1 && groups <= 1'000'000, "groups",
                 fmt::format("{} is not valid; expected an integer in [1, 1000000]", groups));
    const double exponent = prefix.get_non_negative<double>("popularity_exponent", 0.0);
    const auto block = prefix.get_positive<TokenCount>("block_tokens", 16);
    ParamReader tokens = prefix.child("tokens");
    LengthTableCache prefix_tables;
    auto lengths_dist = make_length_distribution(tokens, {base_dir, LengthField::kPrompt, &prefix_tables});
    prefix.finish();
    Rng rng(seed, RngStream::kPrefixGroups);
    std::vector<TokenCount> lengths;
    for (std::int64_t g = 0; g < groups; ++g) lengths.push_back(lengths_dist->sample(rng));
    prefixes.emplace(PopularItems(std::move(lengths), exponent, std::move(rng)), block);
  }
  std::optional<SessionSettings> sessions;
  if (synthetic.has("sessions")) {
    ParamReader sec = synthetic.child("sessions");
    SessionSettings s;
    ParamReader turns = sec.child("turns");
    sec.check(sec.has("turns"), "turns", "required: the distribution of turns per session, e.g. "
                                         "{\"dist\": \"uniform\", \"min\": 1, \"max\": 8}");
    LengthTableCache turn_tables;
    s.turns = make_length_distribution(turns, {base_dir, LengthField::kPrompt, &turn_tables});
    s.think_time_s = sec.get_positive<double>("think_time_s", 60.0);
    const std::string loop = sec.get<std::string>("loop", "closed");
    sec.check(loop == "closed" || loop == "open", "loop",
              fmt::format("'{}' is not valid; expected \"closed\" (the next turn waits for the reply) or \"open\"",
                          loop));
    s.closed_loop = loop == "closed";
    sec.finish();
    sessions = std::move(s);
  }
  std::optional<RagChunks> rag;
  if (synthetic.has("rag")) {
    synthetic.check(!sessions, "rag", "not with sessions (a session's history is its own content)");
    ParamReader sec = synthetic.child("rag");
    const auto documents = sec.require<std::int64_t>("documents");
    sec.check(documents >= 1 && documents <= 1'000'000, "documents",
              fmt::format("{} is not valid; expected an integer in [1, 1000000]", documents));
    const auto per_request = sec.get_positive<std::int64_t>("chunks_per_request", 4);
    sec.check(per_request <= documents, "chunks_per_request",
              fmt::format("{} distinct chunks per request need at least as many documents ({})", per_request,
                          documents));
    const double exponent = sec.get_non_negative<double>("popularity_exponent", 0.0);
    ParamReader tokens = sec.child("chunk_tokens");
    LengthTableCache chunk_tables;
    auto lengths_dist = make_length_distribution(tokens, {base_dir, LengthField::kPrompt, &chunk_tables});
    sec.finish();
    Rng rng(seed, RngStream::kRagChunks);
    std::vector<TokenCount> lengths;
    for (std::int64_t d = 0; d < documents; ++d) lengths.push_back(lengths_dist->sample(rng));
    rag.emplace(PopularItems(std::move(lengths), exponent, std::move(rng)), static_cast<int>(per_request));
  }
  synthetic.finish();

  ArrivalClock clock(make_arrival_process(arrival), Rng(seed, RngStream::kArrivals));
  LengthTableCache tables;
  auto prompt_dist = make_length_distribution(prompt, {base_dir, LengthField::kPrompt, &tables});
  auto output_dist = make_length_distribution(output, {base_dir, LengthField::kOutput, &tables});
  std::optional<SimTimeNs> duration_ns;
  if (duration_s) duration_ns = units::s_to_ns(*duration_s);
  return std::make_unique<SyntheticReader>(std::move(clock), std::move(prompt_dist), std::move(output_dist), seed,
                                           num_requests, duration_ns, std::move(prefixes), std::move(sessions),
                                           std::move(rag));
}

}  // namespace kvsim::trace_impl
