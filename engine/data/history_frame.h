// What DataPortal::history returns: bar_count bars (oldest first) of each field for each asset, in
// one allocation, like the DataFrame a zipline user gets back.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace tidemark::engine {

class HistoryFrame {
 public:
  HistoryFrame() = default;
  HistoryFrame(size_t fields, size_t assets, size_t bars)
      : fields_(fields), assets_(assets), bars_(bars), values_(fields * assets * bars) {}

  size_t fields() const { return fields_; }
  size_t assets() const { return assets_; }
  size_t bars() const { return bars_; }
  // The bars of the i-th requested field for the j-th requested asset.
  std::span<const double> series(size_t field, size_t asset) const {
    return {values_.data() + (field * assets_ + asset) * bars_, bars_};
  }
  std::span<double> series(size_t field, size_t asset) {
    return {values_.data() + (field * assets_ + asset) * bars_, bars_};
  }

 private:
  size_t fields_ = 0, assets_ = 0, bars_ = 0;
  std::vector<double> values_;
};

}  // namespace tidemark::engine
