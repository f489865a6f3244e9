// Shared by the strategies that rebalance to an equal-weight list of assets.
#pragma once

#include <algorithm>
#include <span>
#include <vector>

#include "algo/trading_context.h"

namespace tidemark::engine {

// Closes every position not in `targets`, then orders each target to `weight` of the portfolio.
inline void rebalanceEqualWeight(TradingContext& context, std::span<const AssetId> targets, double weight) {
  std::vector<AssetId> exits;
  for (const auto& [asset, position] : context.positions())
    if (std::find(targets.begin(), targets.end(), asset) == targets.end()) exits.push_back(asset);
  for (AssetId a : exits) context.orderTarget(a, 0);
  for (AssetId a : targets) context.orderTargetPercent(a, weight);
}

}  // namespace tidemark::engine
