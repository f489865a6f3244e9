// Imports real data: a directory of per-asset CSV files (one file per asset, the symbol is the
// file name) into a bundle.
//
// The header names the columns, in any order, case-insensitive: open, high, low, close, volume,
// and either `date` (daily bars; a `time` column makes them minute bars) or `datetime`/`timestamp`
// ("YYYY-MM-DD HH:MM[:SS]", or with a 'T'). A minute bar is labelled by its start time in exchange
// time: 09:30 is the first bar of a session, 15:59 the last; rows outside 09:30-16:00 are skipped.
// The sessions of the bundle are the dates that appear in any file.
#pragma once

#include <cstdint>
#include <string>

namespace tidemark::engine {

struct CsvImportReport {
  uint32_t assets = 0;
  uint32_t sessions = 0;
  bool minute_bars = false;
  uint64_t bars = 0;
  uint64_t skipped_rows = 0;  // minute rows outside regular trading hours
};

// Throws EngineError naming the file and line of the first bad row.
CsvImportReport importCsvDirectory(const std::string& dir, const std::string& bundle_path);

}  // namespace tidemark::engine
