// A map from 64-bit block identities to block ids, open addressing with linear probing and backward-shift
// deletion (no tombstones): no allocation per entry, one probe sequence per lookup. Identities are already
// well-mixed hashes (sim/kv/block_hash.h), so their low bits index the table directly.
#pragma once

#include <cstdint>
#include <vector>

#include "sim/core/types.h"

namespace kvsim {

class HashIndex {
 public:
  static constexpr BlockId kMissing = ~BlockId{0};

  BlockId find(std::uint64_t key) const {
    if (slots_.empty()) return kMissing;
    key = stored(key);
    for (std::size_t i = key & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return slots_[i].value;
      if (slots_[i].key == 0) return kMissing;
    }
  }
  // Inserts key -> value unless the key is present; returns whether it inserted.
  bool insert(std::uint64_t key, BlockId value) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    key = stored(key);
    std::size_t i = key & mask_;
    for (; slots_[i].key != 0; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return false;
    }
    slots_[i] = {key, value};
    ++size_;
    return true;
  }
  void erase(std::uint64_t key) {
    if (slots_.empty()) return;
    key = stored(key);
    std::size_t i = key & mask_;
    for (; slots_[i].key != key; i = (i + 1) & mask_) {
      if (slots_[i].key == 0) return;
    }
    // Backward shift: move later entries of the run into the hole when their home allows it.
    for (std::size_t j = (i + 1) & mask_; slots_[j].key != 0; j = (j + 1) & mask_) {
      const std::size_t home = slots_[j].key & mask_;
      if (((j - home) & mask_) >= ((j - i) & mask_)) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = {};
    --size_;
  }
  std::size_t size() const { return size_; }

 private:
  struct Slot {
    std::uint64_t key = 0;  // 0 = empty
    BlockId value = 0;
  };
  static std::uint64_t stored(std::uint64_t key) { return key == 0 ? 1 : key; }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    size_ = 0;
    for (const Slot& s : old) {
      if (s.key == 0) continue;
      std::size_t i = s.key & mask_;
      while (slots_[i].key != 0) i = (i + 1) & mask_;
      slots_[i] = s;
      ++size_;
    }
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0, size_ = 0;
};

}  // namespace kvsim
