// Live blocks by address: an open-addressing hash map (linear probing, backward-shift deletion).
// The replay of a trace does one insert and one erase per allocation, so this is its hot loop:
// std::unordered_map was 3x slower here.
#pragma once

#include <cstdint>
#include <vector>

#include "tidemark/address_table.h"

namespace tidemark {

template <typename Value>
class AddressMap {
 public:
  AddressMap() { slots_.resize(1024); }

  // Returns the value for addr, nullptr when absent. Address 0 is never stored.
  Value* find(uint64_t addr) {
    Slot& s = slots_[address_table::locate(slots_.data(), mask(), addr)];
    return s.key ? &s.value : nullptr;
  }

  // Inserts or overwrites.
  void insert(uint64_t addr, const Value& value) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    Slot& s = slots_[address_table::locate(slots_.data(), mask(), addr)];
    if (!s.key) ++size_;
    s.key = addr;
    s.value = value;
  }

  // Inserts or overwrites in one look-up; returns whether addr was there (its old value copied to
  // out).
  bool replace(uint64_t addr, const Value& value, Value& out) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    Slot& s = slots_[address_table::locate(slots_.data(), mask(), addr)];
    bool was = s.key != 0;
    if (was)
      out = s.value;
    else
      ++size_;
    s.key = addr;
    s.value = value;
    return was;
  }

  // Removes addr; returns whether it was there (its value copied to out).
  bool erase(uint64_t addr, Value& out) {
    uint64_t i = address_table::locate(slots_.data(), mask(), addr);
    if (!slots_[i].key) return false;
    out = slots_[i].value;
    address_table::vacate(slots_.data(), mask(), i);
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
