// Max-min fair sharing of topology links by KV moves (see link_sharing.h).
#include "sim/cluster/link_sharing.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>

#include "sim/core/units.h"

namespace kvsim {

LinkSharing::LinkSharing(const Topology& topology)
    : topology_(topology), capacity_(topology.links().size() * 2), users_(topology.links().size() * 2) {}

const Topology::Path& LinkSharing::path(std::size_t from, std::size_t to) {
  const auto key = std::pair(from, to);
  auto it = paths_.find(key);
  if (it == paths_.end()) it = paths_.emplace(key, topology_.path(from, to)).first;
  return it->second;
}

void LinkSharing::start(std::uint32_t tag, const std::vector<std::size_t>& from, const std::vector<std::size_t>& to,
                        double bytes_per_flow, double moved_per_flow, SimTimeNs now) {
  if (from.empty() || to.empty()) throw std::logic_error("a move needs sources and targets");
  progress(now);
  Move& move = moves_[tag];
  const std::size_t flows = std::max(from.size(), to.size());
  for (std::size_t i = 0; i < flows; ++i) {
    const Topology::Path& p = path(from[i % from.size()], to[i % to.size()]);
    if (i == 0) last_path_ = p;
    move.latency_s = std::max(move.latency_s, p.latency_s);
    std::set<std::string> classes;  // each flow's bytes count once per class it crosses
    for (const std::size_t l : p.links) classes.insert(topology_.links()[l].link_class);
    for (const std::string& c : classes) bytes_by_class_[c] += moved_per_flow;
    if (p.links.empty() || bytes_per_flow <= 0) continue;  // nothing to send, or the same GPU
    Flow f;
    f.tag = tag;
    f.remaining = f.bytes = bytes_per_flow;
    std::size_t at = from[i % from.size()];
    for (const std::size_t l : p.links) {
      const Topology::Link& link = topology_.links()[l];
      const bool forward = link.a == at;
      f.resources.push_back(l * 2 + (forward ? 0 : 1));
      at = forward ? link.b : link.a;
    }
    flows_.push_back(std::move(f));
    move.flows++;
  }
  share();
}

bool LinkSharing::cancel(std::uint32_t tag, SimTimeNs now) {
  if (moves_.find(tag) == moves_.end()) return false;
  progress(now);
  flows_.erase(std::remove_if(flows_.begin(), flows_.end(), [tag](const Flow& f) { return f.tag == tag; }),
               flows_.end());
  moves_.erase(tag);
  share();
  return true;
}

void LinkSharing::advance(SimTimeNs now, std::vector<Finished>& finished) {
  progress(now);
  bool changed = false;
  for (auto& [tag, move] : moves_) {
    (void)tag;
    if (move.flows == 0) changed = true;  // a move with nothing to send (no links) finishes at once
  }
  std::size_t kept = 0;
  for (std::size_t i = 0; i < flows_.size(); ++i) {
    Flow& f = flows_[i];
    // Sent, up to the nanosecond rounding of the finish time.
    if (f.remaining <= std::max(1.0, 1e-9 * f.bytes)) {
      moves_.at(f.tag).flows--;
      changed = true;
      continue;
    }
    if (kept != i) flows_[kept] = std::move(f);
    ++kept;
  }
  flows_.resize(kept);
  if (!changed) return;
  for (auto it = moves_.begin(); it != moves_.end();) {
    if (it->second.flows == 0) {
      finished.push_back({it->first, it->second.latency_s});
      it = moves_.erase(it);
    } else {
      ++it;
    }
  }
  share();
}

SimTimeNs LinkSharing::next_finish_ns() const {
  for (const auto& [tag, move] : moves_) {
    (void)tag;
    if (move.flows == 0) return updated_ns_;
  }
  double soonest = std::numeric_limits<double>::infinity();
  for (const Flow& f : flows_) soonest = std::min(soonest, f.remaining / f.rate_Bps);
  if (!std::isfinite(soonest)) return -1;
  return updated_ns_ + std::max<SimTimeNs>(1, static_cast<SimTimeNs>(std::ceil(soonest * 1e9)));
}

void LinkSharing::progress(SimTimeNs now) {
  const double dt = units::ns_to_s(now - updated_ns_);
  if (dt > 0) {
    for (Flow& f : flows_) f.remaining -= f.rate_Bps * dt;
  }
  updated_ns_ = std::max(updated_ns_, now);
}

// Progressive filling: repeatedly, the resource whose capacity left per unfixed flow is the smallest fixes that
// share for its unfixed flows, which then use it on every resource they cross.
void LinkSharing::share() {
  std::vector<char> fixed(flows_.size(), 0);
  std::fill(users_.begin(), users_.end(), 0);
  for (const Flow& f : flows_) {
    for (const std::size_t r : f.resources) {
      capacity_[r] = topology_.links()[r / 2].bandwidth_Bps;
      users_[r]++;
    }
  }
  std::size_t left = flows_.size();
  while (left > 0) {
    std::size_t best = 0;
    double best_share = std::numeric_limits<double>::infinity();
    for (std::size_t r = 0; r < users_.size(); ++r) {
      if (users_[r] > 0 && capacity_[r] / users_[r] < best_share) {
        best_share = capacity_[r] / users_[r];
        best = r;
      }
    }
    for (std::size_t i = 0; i < flows_.size(); ++i) {
      Flow& f = flows_[i];
      if (fixed[i] || std::find(f.resources.begin(), f.resources.end(), best) == f.resources.end()) continue;
      f.rate_Bps = std::max(best_share, 1.0);  // never stalled: a zero rate would never finish
      fixed[i] = 1;
      --left;
      for (const std::size_t r : f.resources) {
        capacity_[r] -= best_share;
        users_[r]--;
      }
    }
  }
}

}  // namespace kvsim
