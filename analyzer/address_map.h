// Live blocks by address (or anything by a non-zero id): an open-addressing hash map (linear
// probing, backward-shift deletion).
// The replay of a trace does one insert and one erase per allocation, so this is its hot loop:
// std::unordered_map was 3x slower here. Its slots follow the addresses' order while that keeps
// the probe runs short (address_table.h), and are scattered once it does not.
#pragma once

#include <cstdint>
#include <vector>

#include "tidemark/address_table.h"

namespace tidemark {

template <typename Value>
class AddressMap {
 public:
  // Keys: addresses (their order kept in the slots while it pays), or ids (counters, hashed from
  // the start: consecutive ids would all have one home in place).
  enum class Keys { Addresses, Ids };
  explicit AddressMap(Keys keys = Keys::Addresses) : ids_(keys == Keys::Ids), scattered_(ids_) { slots_.resize(1024); }

  // Returns the value for addr, nullptr when absent. Address 0 is never stored.
  Value* find(uint64_t addr) {
    Slot& s = slots_[locate(addr)];
    return s.key ? &s.value : nullptr;
  }

  // Inserts or overwrites.
  void insert(uint64_t addr, const Value& value) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    Slot& s = slots_[locate(addr)];
    if (!s.key) ++size_;
    s.key = addr;
    s.value = value;
  }

  // Inserts or overwrites in one look-up; returns whether addr was there (its old value copied to
  // out).
  bool replace(uint64_t addr, const Value& value, Value& out) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    Slot& s = slots_[locate(addr)];
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
    uint64_t i = locate(addr);
    if (!slots_[i].key) return false;
    out = slots_[i].value;
    --size_;
    if (scattered_) {
      address_table::vacate<Home::Scattered>(slots_.data(), mask(), i);
    } else {
      walked(address_table::vacate<Home::InPlace>(slots_.data(), mask(), i));
    }
    return true;
  }

  size_t size() const { return size_; }
  void clear() {
    slots_.assign(1024, Slot{});
    size_ = 0;
    scattered_ = ids_;
    window_ops_ = window_walked_ = 0;
  }
  // Whether the slots have left the addresses' own order for scattered ones (walks grew long).
  bool scattered() const { return scattered_; }

  template <typename Fn>
  void forEach(Fn&& fn) const {
    for (const Slot& s : slots_)
      if (s.key) fn(s.key, s.value);
  }

 private:
  using Home = address_table::Home;
  // The slots follow the addresses (Home::InPlace) until the look-ups of kWindow operations have
  // walked more than kMeanWalk slots each on average, then are scattered until the table next
  // grows (a larger table lays the heap out anew). Measured with the addresses in place: the
  // bench workload's trace 3.9 slots per look-up (at most 5,161) and read 13% faster, QuantLib's
  // and the engine's 2, a pandas script's 238 (pymalloc's pools pile up).
  static constexpr uint64_t kWindow = 1u << 12, kMeanWalk = 8;
  uint64_t window_ops_ = 0, window_walked_ = 0;
  void walked(uint64_t slots) {
    window_walked_ += slots;
    if (window_walked_ > kWindow * kMeanWalk) {
      scatter();  // as soon as the window's walks exceed the budget: a heap that piles up costs little
    } else if (++window_ops_ == kWindow) {
      window_ops_ = window_walked_ = 0;
    }
  }
  struct Slot {
    uint64_t key = 0;
    Value value{};
  };
  size_t mask() const { return slots_.size() - 1; }

  // The slot of addr, or the empty one where it belongs.
  uint64_t locate(uint64_t addr) {
    if (scattered_) return address_table::locate<Home::Scattered>(slots_.data(), mask(), addr);
    uint64_t i = address_table::locate<Home::InPlace>(slots_.data(), mask(), addr);
    walked((i - address_table::home<Home::InPlace>(addr, mask())) & mask());
    if (!scattered_) return i;
    return address_table::locate<Home::Scattered>(slots_.data(), mask(), addr);
  }

  // Twice the slots, which lay the heap out anew: in the addresses' order again, on trial (scattered
  // at once when placing the keys walks more than kMeanWalk slots each).
  void grow() {
    scattered_ = false;
    window_ops_ = window_walked_ = 0;
    if (rebuild(slots_.size() * 2)) return;
    scattered_ = true;
    rebuild(slots_.size() * 2);  // from the table as it was
  }

  void scatter() {
    scattered_ = true;
    rebuild(slots_.size());
  }

  // The same keys in n slots; false when, in place, they walked more than kMeanWalk slots each
  // (the table is then left as it was).
  bool rebuild(size_t n) {
    std::vector<Slot> old(n);
    old.swap(slots_);
    const uint64_t budget = size_ * kMeanWalk;
    uint64_t walk = 0;
    for (const Slot& s : old) {
      if (!s.key) continue;
      uint64_t i = 0;
      if (scattered_) {
        i = address_table::locate<Home::Scattered>(slots_.data(), mask(), s.key);
      } else {
        i = address_table::locate<Home::InPlace>(slots_.data(), mask(), s.key);
        walk += (i - address_table::home<Home::InPlace>(s.key, mask())) & mask();
        if (walk > budget) {
          slots_.swap(old);
          return false;
        }
      }
      slots_[i] = s;
    }
    return true;
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
  bool ids_;
  bool scattered_;
};

}  // namespace tidemark
