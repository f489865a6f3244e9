// The pipeline's daily factors, computed for every asset and every session of a chunk at once:
// trailing return, short and long moving averages, volatility, average dollar volume, a
// risk-adjusted momentum score, its cross-sectional rank, and the top-N universe.
//
// The row for session t uses bars up to the close of session t - 1, as a zipline pipeline does: a
// strategy sees it in before_trading_start of day t without looking ahead.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "data/bundle.h"
#include "data/market.h"
#include "pipeline/chunk_schedule.h"

namespace tidemark::engine {

enum class Factor : uint8_t { TrailingReturn, SmaShort, SmaLong, Volatility, DollarVolume, Score, Rank };
inline constexpr size_t kFactorCount = 7;
std::string_view factorName(Factor f);

struct PipelineSpec {
  uint32_t returns_window = 60;  // sessions
  uint32_t sma_short = 10;
  uint32_t sma_long = 50;
  uint32_t volatility_window = 20;  // daily returns
  uint32_t liquidity_window = 20;
  uint32_t top_n = 20;
  double min_price = 5.0;            // dollars: cheaper assets get no score
  double min_dollar_volume = 1.0e6;  // average per session: thinner assets get no score

  // Sessions of bars a row needs before its session.
  uint32_t lookback() const;
};

class PipelineChunk {
 public:
  PipelineChunk(SessionRange sessions, uint32_t asset_count);

  const SessionRange& sessions() const { return sessions_; }
  // NaN where the factor is undefined (too little history, not eligible for a score).
  double value(Factor f, uint32_t session, AssetId a) const {
    return columns_[static_cast<size_t>(f)][size_t{session - sessions_.begin} * asset_count_ + index(a)];
  }
  // The top_n assets by score, best first.
  std::span<const AssetId> top(uint32_t session) const { return top_[session - sessions_.begin]; }
  uint64_t bytes() const;

 private:
  friend std::unique_ptr<PipelineChunk> computePipelineChunk(const Bundle&, const PipelineSpec&, SessionRange);
  SessionRange sessions_;
  uint32_t asset_count_;
  std::array<std::vector<double>, kFactorCount> columns_;  // [session - begin][asset]
  std::vector<std::vector<AssetId>> top_;
};

std::unique_ptr<PipelineChunk> computePipelineChunk(const Bundle& bundle, const PipelineSpec& spec,
                                                    SessionRange sessions);

}  // namespace tidemark::engine
