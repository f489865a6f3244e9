// Live blocks by address: an open-addressing hash map (linear probing, backward-shift deletion).
// The replay of a trace does one insert and one erase per allocation, so this is its hot loop:
// std::unordered_map was 3x slower here.
#pragma once

#include <cstdint>
#include <vector>

namespace tidemark {

template <typename Value>
class AddressMap {
 public:
  AddressMap() { slots_.resize(1024); }

  // Returns the value for addr, nullptr when absent. Address 0 is never stored.
  Value* find(uint64_t addr) {
    for (size_t i = index(addr);; i = (i + 1) & mask()) {
      Slot& s = slots_[i];
      if (s.key == addr) return &s.value;
      if (s.key == 0) return nullptr;
    }
  }

  // Inserts or overwrites.
  void insert(uint64_t addr, const Value& value) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    for (size_t i = index(addr);; i = (i + 1) & mask()) {
      Slot& s = slots_[i];
      if (s.key == addr) {
        s.value = value;
        return;
      }
      if (s.key == 0) {
        s.key = addr;
        s.value = value;
        ++size_;
        return;
      }
    }
  }

  // Removes addr; returns whether it was there (its value copied to out).
  bool erase(uint64_t addr, Value& out) {
    size_t i = index(addr);
    for (;; i = (i + 1) & mask()) {
      if (slots_[i].key == addr) break;
      if (slots_[i].key == 0) return false;
    }
    out = slots_[i].value;
    // Backward shift: pull later members of the probe run into the hole.
    for (size_t j = (i + 1) & mask();; j = (j + 1) & mask()) {
      if (slots_[j].key == 0) break;
      size_t home = index(slots_[j].key);
      bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
      if (movable) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i].key = 0;
    --size_;
    return true;
  }

  size_t size() const { return size_; }

  template <typename Fn>
  void forEach(Fn&& fn) const {
    for (const Slot& s : slots_)
      if (s.key) fn(s.key, s.value);
  }

 private:
  struct Slot {
    uint64_t key = 0;
    Value value{};
  };
  size_t mask() const { return slots_.size() - 1; }
  size_t index(uint64_t addr) const { return static_cast<size_t>((addr * 0x9e3779b97f4a7c15ull) >> 20) & mask(); }
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.resize(old.size() * 2);
    size_ = 0;
    for (const Slot& s : old)
      if (s.key) insert(s.key, s.value);
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace tidemark
