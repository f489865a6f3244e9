#include "pipeline/factors.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "data/bundle_format.h"

namespace tidemark::engine {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// One asset's inputs over the chunk's window, with prefix sums so that every trailing mean is O(1).
struct AssetSeries {
  std::vector<double> close;              // carried forward; NaN before the first trade
  std::vector<double> sum_close;          // prefix sums; [i] covers [0, i)
  std::vector<uint32_t> valid;            // prefix counts of defined closes
  std::vector<double> sum_ret, sum_ret2;  // prefix sums of daily returns and their squares
  std::vector<uint32_t> valid_ret;
  std::vector<double> sum_dollar_volume;

  void load(std::span<const uint32_t> closes, std::span<const uint32_t> volumes, uint32_t first, uint32_t n) {
    close.assign(n, kNaN);
    sum_close.assign(n + 1, 0);
    valid.assign(n + 1, 0);
    sum_ret.assign(n + 1, 0);
    sum_ret2.assign(n + 1, 0);
    valid_ret.assign(n + 1, 0);
    sum_dollar_volume.assign(n + 1, 0);
    double last = kNaN;
    for (uint32_t back = first; back-- > 0;)
      if (closes[back]) {
        last = closes[back] / double{bundle::kPriceScale};
        break;
      }
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t c = closes[first + i];
      double previous = last;
      if (c) last = c / double{bundle::kPriceScale};
      close[i] = last;
      bool ok = !std::isnan(last);
      sum_close[i + 1] = sum_close[i] + (ok ? last : 0.0);
      valid[i + 1] = valid[i] + ok;
      double r = ok && !std::isnan(previous) ? last / previous - 1.0 : kNaN;
      bool rok = !std::isnan(r);
      sum_ret[i + 1] = sum_ret[i] + (rok ? r : 0.0);
      sum_ret2[i + 1] = sum_ret2[i] + (rok ? r * r : 0.0);
      valid_ret[i + 1] = valid_ret[i] + rok;
      sum_dollar_volume[i + 1] = sum_dollar_volume[i] + (c ? last * volumes[first + i] : 0.0);
    }
  }

  // Means over the `w` values ending at index k (inclusive); NaN unless all are defined.
  double meanClose(uint32_t k, uint32_t w) const {
    if (k + 1 < w || valid[k + 1] - valid[k + 1 - w] != w) return kNaN;
    return (sum_close[k + 1] - sum_close[k + 1 - w]) / w;
  }
  double volatility(uint32_t k, uint32_t w) const {
    if (w < 2 || k + 1 < w || valid_ret[k + 1] - valid_ret[k + 1 - w] != w) return kNaN;
    double s = sum_ret[k + 1] - sum_ret[k + 1 - w], s2 = sum_ret2[k + 1] - sum_ret2[k + 1 - w];
    return std::sqrt(std::max(0.0, (s2 - s * s / w) / (w - 1)));
  }
  double dollarVolume(uint32_t k, uint32_t w) const {
    if (k + 1 < w) return kNaN;
    return (sum_dollar_volume[k + 1] - sum_dollar_volume[k + 1 - w]) / w;
  }
};

}  // namespace

std::string_view factorName(Factor f) {
  static constexpr std::string_view kNames[] = {"trailing_return", "sma_short", "sma_long", "volatility",
                                                "dollar_volume",   "score",     "rank"};
  return kNames[static_cast<size_t>(f)];
}

uint32_t PipelineSpec::lookback() const {
  return std::max({returns_window + 1, sma_short, sma_long, volatility_window + 1, liquidity_window});
}

PipelineChunk::PipelineChunk(SessionRange sessions, uint32_t asset_count)
    : sessions_(sessions), asset_count_(asset_count) {}

uint64_t PipelineChunk::bytes() const {
  uint64_t b = 0;
  for (const auto& c : columns_) b += c.capacity() * sizeof(double);
  for (const auto& t : top_) b += t.capacity() * sizeof(AssetId);
  return b;
}

[[gnu::noinline]] std::unique_ptr<PipelineChunk> computePipelineChunk(const Bundle& bundle, const PipelineSpec& spec,
                                                                      SessionRange sessions) {
  const uint32_t assets = bundle.assetCount();
  auto chunk = std::make_unique<PipelineChunk>(sessions, assets);
  for (auto& column : chunk->columns_) column.assign(size_t{sessions.size()} * assets, kNaN);
  chunk->top_.resize(sessions.size());

  // Rows use bars before their session: the window is [begin - lookback, end - 1).
  const uint32_t first = sessions.begin > spec.lookback() ? sessions.begin - spec.lookback() : 0;
  const uint32_t end = sessions.end - 1 > first ? sessions.end - 1 : first;
  AssetSeries series;
  auto put = [&](Factor f, uint32_t row, uint32_t a, double v) {
    chunk->columns_[static_cast<size_t>(f)][size_t{row} * assets + a] = v;
  };
  for (uint32_t a = 0; a < assets; ++a) {
    if (end == first) break;
    series.load(bundle.daily(Field::Close, assetId(a)), bundle.daily(Field::Volume, assetId(a)), first, end - first);
    for (uint32_t s = std::max(sessions.begin, first + 1); s < sessions.end; ++s) {
      const uint32_t row = s - sessions.begin, k = s - 1 - first;
      double ret = k >= spec.returns_window ? series.close[k] / series.close[k - spec.returns_window] - 1.0 : kNaN;
      double vol = series.volatility(k, spec.volatility_window);
      double dollar_volume = series.dollarVolume(k, spec.liquidity_window);
      put(Factor::TrailingReturn, row, a, ret);
      put(Factor::SmaShort, row, a, series.meanClose(k, spec.sma_short));
      put(Factor::SmaLong, row, a, series.meanClose(k, spec.sma_long));
      put(Factor::Volatility, row, a, vol);
      put(Factor::DollarVolume, row, a, dollar_volume);
      bool eligible = std::isfinite(ret) && vol > 0 && series.close[k] >= spec.min_price &&
                      dollar_volume >= spec.min_dollar_volume && s <= bundle.lastSession(assetId(a));
      if (eligible) put(Factor::Score, row, a, ret / (vol * std::sqrt(static_cast<double>(spec.returns_window))));
    }
  }

  // Cross-sectional rank of the score, best first; ties go to the lower asset id.
  std::vector<uint32_t> order;
  const auto& score = chunk->columns_[static_cast<size_t>(Factor::Score)];
  for (uint32_t row = 0; row < sessions.size(); ++row) {
    const double* scores = score.data() + size_t{row} * assets;
    order.clear();
    for (uint32_t a = 0; a < assets; ++a)
      if (!std::isnan(scores[a])) order.push_back(a);
    std::sort(order.begin(), order.end(),
              [&](uint32_t x, uint32_t y) { return scores[x] != scores[y] ? scores[x] > scores[y] : x < y; });
    for (uint32_t r = 0; r < order.size(); ++r) put(Factor::Rank, row, order[r], r + 1.0);
    auto& top = chunk->top_[row];
    top.reserve(std::min<size_t>(spec.top_n, order.size()));
    for (uint32_t r = 0; r < order.size() && r < spec.top_n; ++r) top.push_back(assetId(order[r]));
  }
  return chunk;
}

}  // namespace tidemark::engine
