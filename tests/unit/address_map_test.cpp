#include <random>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include "address_map.h"

namespace {

// Churn over the given addresses checked against std::unordered_map, lookups included; returns
// whether the map ended with its slots scattered.
bool churnAgrees(const std::vector<uint64_t>& addresses, uint64_t seed,
                 tidemark::AddressMap<uint64_t>::Keys keys = tidemark::AddressMap<uint64_t>::Keys::Addresses) {
  tidemark::AddressMap<uint64_t> map(keys);
  std::unordered_map<uint64_t, uint64_t> truth;
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 300000; ++i) {
    uint64_t addr = addresses[rng() % addresses.size()];
    uint64_t out = 0;
    switch (rng() % 3) {
      case 0:
        map.insert(addr, i);
        truth[addr] = i;
        break;
      case 1: {
        bool had = map.erase(addr, out);
        auto it = truth.find(addr);
        EXPECT_EQ(had, it != truth.end());
        if (had) {
          EXPECT_EQ(out, it->second);
          truth.erase(it);
        }
        break;
      }
      default: {
        const uint64_t* found = map.find(addr);
        auto it = truth.find(addr);
        EXPECT_EQ(found != nullptr, it != truth.end());
        if (found && it != truth.end()) {
          EXPECT_EQ(*found, it->second);
        }
      }
    }
    if (map.size() != truth.size()) {
      ADD_FAILURE() << "sizes differ at operation " << i;
      return map.scattered();
    }
  }
  for (auto [k, v] : truth) {
    const uint64_t* found = map.find(k);
    EXPECT_TRUE(found && *found == v) << k;
  }
  return map.scattered();
}

TEST(AddressMap, AgreesWithUnorderedMapUnderRandomChurn) {
  std::vector<uint64_t> few;  // few distinct keys: long probe runs and reuse
  for (uint64_t i = 1; i <= 5000; ++i) few.push_back(16 * i);
  churnAgrees(few, 3);
}

// The slots follow the addresses while that keeps the walks short: a heap carved in order (blocks
// of 48 bytes one after another) stays in place; pages of four heaps 64 MiB apart (thread arenas,
// page-aligned blocks), which land on the same few slots of any table, are scattered. Either way
// the map holds what std::unordered_map holds, through every change of layout.
TEST(AddressMap, FollowsTheAddressesUntilTheyPileUp) {
  std::vector<uint64_t> carved, piled;
  for (uint64_t i = 0; i < 60000; ++i) carved.push_back(0x5555'0000'0000 + 48 * i);
  for (uint64_t heap = 0; heap < 4; ++heap)
    for (uint64_t page = 0; page < 15000; ++page) piled.push_back(0x7f00'0000'0000 + (heap << 26) + 4096 * page);
  EXPECT_FALSE(churnAgrees(carved, 1));
  EXPECT_TRUE(churnAgrees(piled, 2));
}

// Ids (1, 2, 3...): hashed from the start, as in place they would all start one probe run.
TEST(AddressMap, KeysThatAreIdsAreScatteredFromTheStart) {
  std::vector<uint64_t> ids;
  for (uint64_t i = 1; i <= 60000; ++i) ids.push_back(i);
  EXPECT_TRUE(churnAgrees(ids, 4, tidemark::AddressMap<uint64_t>::Keys::Ids));
  tidemark::AddressMap<uint64_t> map(tidemark::AddressMap<uint64_t>::Keys::Ids);
  for (uint64_t i = 1; i <= 5000; ++i) map.insert(i, 2 * i);
  map.clear();
  EXPECT_EQ(map.size(), 0u);
  EXPECT_TRUE(map.scattered());
  EXPECT_EQ(map.find(7), nullptr);
  map.insert(7, 1);
  ASSERT_NE(map.find(7), nullptr);
  EXPECT_EQ(*map.find(7), 1u);
}

}  // namespace
