// Disjoint intrusive doubly linked lists over block ids (the queues of LRU, ARC and S3-FIFO): O(1) push, unlink
// and membership, no allocation per operation. A block is in at most one list at a time.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "sim/core/types.h"

namespace kvsim {

class BlockLists {
 public:
  static constexpr BlockId kNone = static_cast<BlockId>(-1);
  static constexpr std::int8_t kNoList = -1;

  explicit BlockLists(int lists) : head_(lists, kNone), tail_(lists, kNone), size_(lists, 0) {}

  // Appends `b` at the back (most recent end) of `list`; `b` must be in no list.
  void push_back(int list, BlockId b) {
    grow(b);
    Node& n = nodes_[b];
    n.list = static_cast<std::int8_t>(list);
    n.prev = tail_[list];
    n.next = kNone;
    (tail_[list] == kNone ? head_[list] : nodes_[tail_[list]].next) = b;
    tail_[list] = b;
    size_[list]++;
  }
  // Puts `b` at the front (least recent end) of `list`; `b` must be in no list.
  void push_front(int list, BlockId b) {
    grow(b);
    Node& n = nodes_[b];
    n.list = static_cast<std::int8_t>(list);
    n.prev = kNone;
    n.next = head_[list];
    (head_[list] == kNone ? tail_[list] : nodes_[head_[list]].prev) = b;
    head_[list] = b;
    size_[list]++;
  }
  // Removes `b` from its list, if any.
  void unlink(BlockId b) {
    if (b >= nodes_.size() || nodes_[b].list == kNoList) return;
    Node& n = nodes_[b];
    const int list = n.list;
    (n.prev == kNone ? head_[list] : nodes_[n.prev].next) = n.next;
    (n.next == kNone ? tail_[list] : nodes_[n.next].prev) = n.prev;
    n.prev = n.next = kNone;
    n.list = kNoList;
    size_[list]--;
  }
  int list_of(BlockId b) const { return b < nodes_.size() ? nodes_[b].list : kNoList; }
  BlockId front(int list) const { return head_[list]; }   // least recent end; kNone if empty
  BlockId next(BlockId b) const { return nodes_[b].next; }  // towards the most recent end
  std::size_t size(int list) const { return size_[list]; }

  // Throws std::logic_error unless every list's links and size agree.
  void check() const {
    std::size_t total = 0;
    for (std::size_t l = 0; l < head_.size(); ++l) {
      std::size_t n = 0;
      for (BlockId b = head_[l], prev = kNone; b != kNone; prev = b, b = nodes_[b].next) {
        if (nodes_[b].prev != prev || nodes_[b].list != static_cast<int>(l)) {
          throw std::logic_error("eviction queue links disagree");
        }
        if (++n > nodes_.size()) throw std::logic_error("eviction queue has a cycle");
      }
      if (n != size_[l]) throw std::logic_error("eviction queue size disagrees with its links");
      total += n;
    }
    std::size_t members = 0;
    for (const Node& node : nodes_) members += node.list != kNoList ? 1 : 0;
    if (members != total) throw std::logic_error("a block claims a queue that does not hold it");
  }

 private:
  struct Node {
    BlockId prev = kNone, next = kNone;
    std::int8_t list = kNoList;
  };
  void grow(BlockId b) {
    if (b >= nodes_.size()) nodes_.resize(static_cast<std::size_t>(b) + 1);
  }
  std::vector<Node> nodes_;
  std::vector<BlockId> head_, tail_;
  std::vector<std::size_t> size_;
};

// A FIFO of the identities of recently evicted blocks (ARC's and S3-FIFO's ghost queues): membership, removal and
// trimming to a bound, oldest first. Identities only, no KV.
class GhostQueue {
 public:
  bool contains(std::uint64_t hash) const { return seq_of_.count(hash) != 0; }
  void push(std::uint64_t hash) {
    seq_of_[hash] = next_seq_;
    fifo_.push_back({hash, next_seq_++});
    if (fifo_.size() - head_ > 2 * seq_of_.size() + 1024) compact();
  }
  bool erase(std::uint64_t hash) { return seq_of_.erase(hash) != 0; }
  std::size_t size() const { return seq_of_.size(); }
  // Forgets the oldest entries until at most `bound` remain.
  void trim(std::size_t bound) {
    while (seq_of_.size() > bound) pop_oldest();
  }
  void pop_oldest() {
    while (!fifo_.empty()) {
      const Entry e = fifo_[head_++];
      const auto it = seq_of_.find(e.hash);
      if (it != seq_of_.end() && it->second == e.seq) {
        seq_of_.erase(it);
        break;
      }
    }
    if (head_ > 1024 && head_ * 2 > fifo_.size()) {  // drop the consumed prefix
      fifo_.erase(fifo_.begin(), fifo_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

 private:
  // Drops entries of identities erased or pushed again since (stale entries).
  void compact() {
    std::size_t out = 0;
    for (std::size_t i = head_; i < fifo_.size(); ++i) {
      const auto it = seq_of_.find(fifo_[i].hash);
      if (it != seq_of_.end() && it->second == fifo_[i].seq) fifo_[out++] = fifo_[i];
    }
    fifo_.resize(out);
    head_ = 0;
  }
  struct Entry {
    std::uint64_t hash;
    std::uint64_t seq;
  };
  std::unordered_map<std::uint64_t, std::uint64_t> seq_of_;  // identity -> its newest entry
  std::vector<Entry> fifo_;
  std::size_t head_ = 0;
  std::uint64_t next_seq_ = 0;
};

}  // namespace kvsim
