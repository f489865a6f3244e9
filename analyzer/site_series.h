// Live bytes of every stack over the run, for the growth findings. The run's axis (nanoseconds, or
// simulated days) is cut into at most kMaxBins bins whose width doubles as the run gets longer;
// each bin keeps the stack's value at its end and the highest value inside it. Only stacks whose value changes in a bin store a point,
// so memory follows the activity, not stacks x bins.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tidemark {

struct SeriesPoint {
  uint32_t bin;
  uint64_t last;  // value at the end of the bin
  uint64_t max;   // highest value within the bin
};

// Makes `v` size entries long, its capacity doubled when it must grow (at most to `most`): the
// entries past size are neither made nor touched (a vector by stack id, whose ids include those of
// Python frames that never allocate, stays as long as its largest id, not twice that).
template <class T>
void growTo(std::vector<T>& v, size_t size, size_t most = SIZE_MAX) {
  if (size > v.capacity()) v.reserve(std::min(std::max(size, 2 * v.capacity()), std::max(size, most)));
  v.resize(size);
}

class SeriesRecorder {
 public:
  static constexpr uint32_t kMaxBins = 1024;
  static constexpr uint64_t kInitialWidthNs = 16'384;  // about 16 us, doubled as needed

  // initial_width: of one bin in the axis' unit (1 for a bin per simulated day).
  explicit SeriesRecorder(uint64_t initial_width = kInitialWidthNs) : width_ns_(initial_width) {}

  // Called for every allocation and free the replay meets (three times an allocation and its
  // free), so it is here to be inlined: the same bin as the stack's last point most of the time.
  void update(uint32_t stack, uint64_t time_ns, uint64_t value) {
    const uint32_t bin = time_ns == cached_time_ && width_ns_ == cached_width_ ? cached_bin_ : binOf(time_ns);
    if (stack < series_.size() && !series_[stack].empty() && series_[stack].back().bin == bin) {
      SeriesPoint& last = series_[stack].back();
      last.last = value;
      last.max = std::max(last.max, value);
      return;
    }
    addPoint(stack, bin, value);
  }

  uint64_t binWidthNs() const { return width_ns_; }
  // Bins in use: 0 .. bins()-1.
  uint32_t bins() const { return last_bin_ + 1; }
  void extendTo(uint64_t time_ns);  // the run lasted at least this long
  bool empty() const { return series_.empty(); }

  // Sum over `stacks` of their values, one entry per bin (carried forward between points).
  void sum(const std::vector<uint32_t>& stacks, std::vector<double>& last, std::vector<double>& max) const;
  // At least the highest value sum() can give these stacks in any bin (the sum of each stack's
  // highest), without a bin's worth of work: what rules out a site too small to matter.
  uint64_t highestBound(const std::vector<uint32_t>& stacks) const;

  // What a checkpoint keeps of it (checkpoint.cpp): a(...) is called with every member that is not
  // a cache.
  template <class Archive>
  void fields(Archive& a) {
    a(width_ns_, last_bin_, series_);
  }

 private:
  uint32_t binOf(uint64_t time_ns);
  void addPoint(uint32_t stack, uint32_t bin, uint64_t value);  // the stack's first point in this bin
  void halve();

  uint64_t width_ns_;
  uint32_t last_bin_ = 0;
  uint64_t cached_time_ = UINT64_MAX, cached_width_ = 0;  // binOf's last answer
  uint32_t cached_bin_ = 0;
  std::vector<std::vector<SeriesPoint>> series_;  // by stack id
};

// At most `points` of the bins 0 .. bins-1, evenly spaced, the last bin always among them: the
// moments a chart draws or a range is picked from.
std::vector<uint32_t> evenBins(uint32_t bins, size_t points);

}  // namespace tidemark
