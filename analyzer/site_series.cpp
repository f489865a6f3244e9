#include "site_series.h"

#include <algorithm>

namespace tidemark {

uint32_t SeriesRecorder::binOf(uint64_t time_ns) {
  // Events come in runs at one time (the replay's clock moves with the samples): one division a run.
  if (time_ns == cached_time_ && width_ns_ == cached_width_) return cached_bin_;
  while (time_ns / width_ns_ >= kMaxBins) halve();
  auto bin = static_cast<uint32_t>(time_ns / width_ns_);
  last_bin_ = std::max(last_bin_, bin);
  cached_time_ = time_ns;
  cached_width_ = width_ns_;
  cached_bin_ = bin;
  return bin;
}

void SeriesRecorder::extendTo(uint64_t time_ns) { binOf(time_ns); }

void SeriesRecorder::halve() {
  width_ns_ *= 2;
  last_bin_ /= 2;
  for (auto& points : series_) {
    size_t out = 0;
    for (size_t i = 0; i < points.size(); ++i) {
      SeriesPoint p = points[i];
      p.bin /= 2;
      if (out > 0 && points[out - 1].bin == p.bin) {
        points[out - 1].last = p.last;
        points[out - 1].max = std::max(points[out - 1].max, p.max);
      } else {
        points[out++] = p;
      }
    }
    points.resize(out);
  }
}

void SeriesRecorder::addPoint(uint32_t stack, uint32_t bin, uint64_t value) {
  if (stack >= series_.size()) growTo(series_, stack + 1);
  auto& points = series_[stack];
  // The bin starts at the previous value; the max covers it too.
  uint64_t before = points.empty() ? 0 : points.back().last;
  points.push_back({bin, value, std::max(before, value)});
}

void SeriesRecorder::sum(const std::vector<uint32_t>& stacks, std::vector<double>& last,
                         std::vector<double>& max) const {
  // In the time of the points, not of stacks x bins: each point adds its change to the bins from
  // its own on (a running sum), and what its bin rose above its end to that bin alone. `last`
  // gathers the changes and `max` the rises before the running sum turns them into values.
  uint32_t n = bins();
  last.assign(n, 0.0);
  max.assign(n, 0.0);
  for (uint32_t id : stacks) {
    if (id >= series_.size()) continue;
    uint64_t value = 0;
    for (const SeriesPoint& p : series_[id]) {
      if (p.bin >= n) break;
      last[p.bin] += static_cast<double>(p.last) - static_cast<double>(value);
      max[p.bin] += static_cast<double>(std::max(p.max, p.last) - p.last);
      value = p.last;
    }
  }
  double running = 0;
  for (uint32_t b = 0; b < n; ++b) {
    running += last[b];
    last[b] = running;
    max[b] += running;
  }
}

uint64_t SeriesRecorder::highestBound(const std::vector<uint32_t>& stacks) const {
  uint64_t bound = 0;
  for (uint32_t id : stacks) {
    if (id >= series_.size()) continue;
    uint64_t highest = 0;
    for (const SeriesPoint& p : series_[id]) highest = std::max({highest, p.max, p.last});
    bound += highest;
  }
  return bound;
}

std::vector<uint32_t> evenBins(uint32_t bins, size_t points) {
  std::vector<uint32_t> out;
  if (!bins || !points) return out;
  const uint32_t step = static_cast<uint32_t>(std::max<uint64_t>(1, (bins + points - 1) / points));
  for (uint32_t b = step - 1; b < bins; b += step) out.push_back(b);
  if (out.empty() || out.back() != bins - 1) out.push_back(bins - 1);
  return out;
}

}  // namespace tidemark
