// The history cache: least-recently-used eviction, the asset and byte bounds, prefetch, refresh.
#include "data/history_cache.h"

#include <gtest/gtest.h>

using namespace tidemark::engine;

namespace {

// Bar b of asset a is a * 1e6 + b (field Volume adds 0.5), so every value says where it came from.
class FakeSource final : public WindowSource {
 public:
  explicit FakeSource(uint32_t bars) : bars_(bars) {}
  uint32_t barCount() const override { return bars_; }
  void decode(AssetId asset, Field field, uint32_t first, std::span<double> out) const override {
    ++decodes;
    for (size_t i = 0; i < out.size(); ++i)
      out[i] = index(asset) * 1e6 + first + i + (field == Field::Volume ? 0.5 : 0.0);
  }
  mutable int decodes = 0;

 private:
  uint32_t bars_;
};

std::vector<uint32_t> order(const HistoryCache& c) {
  std::vector<uint32_t> out;
  for (AssetId a : c.recencyOrder()) out.push_back(index(a));
  return out;
}

HistoryCacheLimits assets(uint32_t n) {
  HistoryCacheLimits l;
  l.max_assets = n;
  return l;
}

TEST(HistoryCache, ServesTheRequestedBars) {
  FakeSource source(1000);
  HistoryCache cache(source, assets(10), 0);
  auto w = cache.window(assetId(3), Field::Close, 100, 105);
  ASSERT_EQ(w.size(), 5u);
  EXPECT_EQ(w[0], 3e6 + 100);
  EXPECT_EQ(w[4], 3e6 + 104);
  EXPECT_EQ(cache.window(assetId(3), Field::Volume, 100, 101)[0], 3e6 + 100.5);
}

TEST(HistoryCache, PrefetchLetsAWindowSlide) {
  FakeSource source(1000);
  HistoryCache cache(source, assets(10), 40);
  cache.window(assetId(1), Field::Close, 0, 150);  // decodes bars [0, 190)
  EXPECT_EQ(cache.bytes(), 190 * sizeof(double));
  for (uint32_t day = 1; day <= 40; ++day) {
    auto w = cache.window(assetId(1), Field::Close, day, day + 150);
    EXPECT_EQ(w.front(), 1e6 + day);
  }
  EXPECT_EQ(source.decodes, 1);
  EXPECT_EQ(cache.stats().hits, 40u);
  cache.window(assetId(1), Field::Close, 41, 191);  // past the prefetched end: decoded again
  EXPECT_EQ(source.decodes, 2);
  EXPECT_EQ(cache.stats().refreshes, 1u);
  EXPECT_EQ(cache.window(assetId(1), Field::Close, 41, 191).back(), 1e6 + 190);
}

TEST(HistoryCache, PrefetchStopsAtTheLastBar) {
  FakeSource source(100);
  HistoryCache cache(source, assets(10), 40);
  cache.window(assetId(0), Field::Close, 50, 90);
  EXPECT_EQ(cache.bytes(), 50 * sizeof(double));  // [50, 100), not [50, 130)
}

TEST(HistoryCache, EvictsTheLeastRecentlyUsedAsset) {
  FakeSource source(100);
  HistoryCache cache(source, assets(3), 0);
  for (uint32_t a : {1, 2, 3}) cache.window(assetId(a), Field::Close, 0, 10);
  EXPECT_EQ(order(cache), (std::vector<uint32_t>{3, 2, 1}));
  cache.window(assetId(1), Field::Close, 0, 10);  // 1 is now the most recent
  EXPECT_EQ(order(cache), (std::vector<uint32_t>{1, 3, 2}));
  cache.window(assetId(4), Field::Close, 0, 10);  // evicts 2, the least recent
  EXPECT_EQ(order(cache), (std::vector<uint32_t>{4, 1, 3}));
  cache.window(assetId(5), Field::Close, 0, 10);  // then 3
  EXPECT_EQ(order(cache), (std::vector<uint32_t>{5, 4, 1}));
  EXPECT_EQ(cache.stats().evictions, 2u);
  EXPECT_EQ(cache.stats().peak_assets, 3u);
  EXPECT_EQ(cache.bytes(), 3 * 10 * sizeof(double));
  // An evicted asset is decoded again.
  int before = source.decodes;
  cache.window(assetId(2), Field::Close, 0, 10);
  EXPECT_EQ(source.decodes, before + 1);
}

TEST(HistoryCache, ByteBoundCountsEveryDecodedField) {
  FakeSource source(1000);
  HistoryCacheLimits limits;
  limits.max_assets = 0;
  limits.max_bytes = 3 * 100 * sizeof(double);  // three 100-bar columns
  HistoryCache cache(source, limits, 0);
  cache.window(assetId(1), Field::Close, 0, 100);
  cache.window(assetId(1), Field::Volume, 0, 100);  // asset 1 holds two columns
  cache.window(assetId(2), Field::Close, 0, 100);
  EXPECT_EQ(cache.assets(), 2u);
  EXPECT_EQ(cache.bytes(), limits.max_bytes);
  cache.window(assetId(3), Field::Close, 0, 100);  // over by one column: asset 1 (two columns) goes
  EXPECT_EQ(order(cache), (std::vector<uint32_t>{3, 2}));
  EXPECT_EQ(cache.bytes(), 2 * 100 * sizeof(double));
  EXPECT_LE(cache.stats().peak_bytes, limits.max_bytes);
}

TEST(HistoryCache, OneWindowLargerThanTheByteBoundIsKept) {
  FakeSource source(1000);
  HistoryCacheLimits limits;
  limits.max_bytes = 10 * sizeof(double);
  HistoryCache cache(source, limits, 0);
  cache.window(assetId(1), Field::Close, 0, 10);
  auto w = cache.window(assetId(2), Field::Close, 0, 500);
  EXPECT_EQ(w.size(), 500u);
  EXPECT_EQ(order(cache), (std::vector<uint32_t>{2}));
}

TEST(HistoryCache, ZeroMeansUnbounded) {
  FakeSource source(100);
  HistoryCacheLimits limits;
  limits.max_assets = 0;
  limits.max_bytes = 0;
  HistoryCache cache(source, limits, 0);
  for (uint32_t a = 0; a < 2000; ++a) cache.window(assetId(a), Field::Close, 0, 10);
  EXPECT_EQ(cache.assets(), 2000u);
  EXPECT_EQ(cache.stats().evictions, 0u);
}

TEST(HistoryCache, TheUnboundedCacheFaultIgnoresBothBounds) {
  FakeSource source(100);
  HistoryCacheLimits limits;
  limits.max_assets = 5;
  limits.max_bytes = 64;
  limits.never_evict = true;
  HistoryCache cache(source, limits, 0);
  for (uint32_t a = 0; a < 100; ++a) cache.window(assetId(a), Field::Close, 0, 10);
  EXPECT_EQ(cache.assets(), 100u);
  EXPECT_EQ(cache.bytes(), 100 * 10 * sizeof(double));
}

TEST(HistoryCache, CountsHitsMissesAndRefreshesPerFieldRequest) {
  FakeSource source(1000);
  HistoryCache cache(source, assets(10), 0);
  cache.window(assetId(1), Field::Close, 0, 10);  // miss
  cache.window(assetId(1), Field::Open, 0, 10);   // miss: a new field
  cache.window(assetId(1), Field::Close, 2, 8);   // hit
  cache.window(assetId(1), Field::Close, 5, 15);  // refresh
  cache.window(assetId(1), Field::Open, 5, 15);   // miss: the refresh dropped the other fields
  const auto& s = cache.stats();
  EXPECT_EQ(s.misses, 3u);
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.refreshes, 1u);
  EXPECT_EQ(source.decodes, 4);
}

}  // namespace
