#include <random>
#include <unordered_map>

#include <gtest/gtest.h>

#include "address_map.h"

namespace {

TEST(AddressMap, AgreesWithUnorderedMapUnderRandomChurn) {
  tidemark::AddressMap<uint64_t> map;
  std::unordered_map<uint64_t, uint64_t> truth;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 200000; ++i) {
    uint64_t addr = 16 * (1 + rng() % 5000);  // few distinct keys: long probe runs and reuse
    if (rng() % 2) {
      map.insert(addr, i);
      truth[addr] = i;
    } else {
      uint64_t out = 0;
      bool had = map.erase(addr, out);
      auto it = truth.find(addr);
      ASSERT_EQ(had, it != truth.end());
      if (had) {
        EXPECT_EQ(out, it->second);
        truth.erase(it);
      }
    }
    ASSERT_EQ(map.size(), truth.size());
  }
  for (auto [k, v] : truth) {
    const uint64_t* found = map.find(k);
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(*found, v);
  }
}

}  // namespace
