#include "data/csv_importer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <tuple>
#include <vector>

#include "data/bundle_writer.h"
#include "data/date.h"
#include "error.h"

namespace tidemark::engine {

namespace {

namespace fs = std::filesystem;

struct CsvBar {
  int32_t day;
  int32_t minute;  // -1 for a daily bar
  uint32_t open, high, low, close, volume;
};

struct CsvAsset {
  std::string symbol;
  std::vector<CsvBar> bars;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '"' || s.front() == '\r' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '"' || s.back() == '\r' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> splitFields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= line.size(); ++i)
    if (i == line.size() || line[i] == ',') {
      out.push_back(trim(line.substr(start, i - start)));
      start = i + 1;
    }
  return out;
}

struct Columns {
  int date = -1, time = -1, datetime = -1, open = -1, high = -1, low = -1, close = -1, volume = -1;
};

class CsvFileParser {
 public:
  CsvFileParser(std::string file, std::string symbol) : file_(std::move(file)), asset_{std::move(symbol), {}} {}

  CsvAsset parse(uint64_t& skipped) {
    std::ifstream in(file_);
    if (!in) throw EngineError(fmt::format("cannot read {}", file_));
    std::string line;
    if (!std::getline(in, line)) throw EngineError(fmt::format("{}: empty file, expected a header line", file_));
    ++line_no_;
    readHeader(line);
    while (std::getline(in, line)) {
      ++line_no_;
      if (trim(line).empty()) continue;
      if (auto bar = parseRow(line))
        asset_.bars.push_back(*bar);
      else
        ++skipped;
    }
    if (asset_.bars.empty()) throw error("no bars");
    for (const CsvBar& b : asset_.bars)
      if ((b.minute >= 0) != minuteBars())
        throw EngineError(fmt::format("{}: some rows have a time and some do not", file_));
    std::sort(asset_.bars.begin(), asset_.bars.end(),
              [](const CsvBar& a, const CsvBar& b) { return std::tie(a.day, a.minute) < std::tie(b.day, b.minute); });
    for (size_t i = 1; i < asset_.bars.size(); ++i)
      if (asset_.bars[i].day == asset_.bars[i - 1].day && asset_.bars[i].minute == asset_.bars[i - 1].minute)
        throw EngineError(
            fmt::format("{}: two bars for {}{}", file_, Date::fromDays(asset_.bars[i].day).str(),
                        asset_.bars[i].minute < 0 ? "" : fmt::format(" minute {}", asset_.bars[i].minute)));
    return std::move(asset_);
  }

  bool minuteBars() const { return cols_.time >= 0 || has_time_in_datetime_; }

 private:
  EngineError error(std::string_view why) const { return EngineError(fmt::format("{}:{}: {}", file_, line_no_, why)); }

  void readHeader(const std::string& line) {
    auto names = splitFields(line);
    for (size_t i = 0; i < names.size(); ++i) {
      std::string n(names[i]);
      std::transform(n.begin(), n.end(), n.begin(), [](unsigned char ch) { return std::tolower(ch); });
      int idx = static_cast<int>(i);
      if (n == "date")
        cols_.date = idx;
      else if (n == "time")
        cols_.time = idx;
      else if (n == "datetime" || n == "timestamp")
        cols_.datetime = idx;
      else if (n == "open")
        cols_.open = idx;
      else if (n == "high")
        cols_.high = idx;
      else if (n == "low")
        cols_.low = idx;
      else if (n == "close")
        cols_.close = idx;
      else if (n == "volume")
        cols_.volume = idx;
    }
    if (cols_.open < 0 || cols_.high < 0 || cols_.low < 0 || cols_.close < 0 || cols_.volume < 0 ||
        (cols_.date < 0 && cols_.datetime < 0))
      throw error("header must name date (or datetime), open, high, low, close, volume");
    width_ = static_cast<int>(names.size());
  }

  uint32_t price(std::string_view s, const char* what) const {
    double x = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
    if (ec != std::errc() || end != s.data() + s.size() || !(x > 0) || x >= 400000)
      throw error(fmt::format("bad {} price '{}'", what, s));
    return static_cast<uint32_t>(std::max<long long>(1, std::llround(x * bundle::kPriceScale)));
  }

  uint32_t volume(std::string_view s) const {
    double x = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
    if (ec != std::errc() || end != s.data() + s.size() || !(x >= 0) || x > 4.0e9)
      throw error(fmt::format("bad volume '{}'", s));
    return static_cast<uint32_t>(std::llround(x));
  }

  // Minutes after midnight from "HH:MM" or "HH:MM:SS".
  int clockMinutes(std::string_view s) const {
    int hh = 0, mm = 0;
    auto bad = [&] { return error(fmt::format("bad time '{}'", s)); };
    if (s.size() < 5 || s[2] != ':') throw bad();
    if (std::from_chars(s.data(), s.data() + 2, hh).ec != std::errc() ||
        std::from_chars(s.data() + 3, s.data() + 5, mm).ec != std::errc() || hh > 23 || mm > 59)
      throw bad();
    return hh * 60 + mm;
  }

  std::optional<CsvBar> parseRow(const std::string& line) {
    auto f = splitFields(line);
    if (static_cast<int>(f.size()) < width_) throw error(fmt::format("{} fields, the header has {}", f.size(), width_));
    CsvBar bar{};
    std::string_view date_text, time_text;
    if (cols_.datetime >= 0) {
      std::string_view dt = f[cols_.datetime];
      date_text = dt.substr(0, std::min<size_t>(10, dt.size()));
      if (dt.size() > 10) {
        time_text = trim(dt.substr(11));
        has_time_in_datetime_ = true;
      }
    } else {
      date_text = f[cols_.date];
      if (cols_.time >= 0) time_text = f[cols_.time];
    }
    try {
      bar.day = Date::parse(date_text).days();
    } catch (const EngineError& e) {
      throw error(e.what());
    }
    bar.minute = -1;
    if (!time_text.empty()) {
      int minute = clockMinutes(time_text) - (9 * 60 + 30);
      if (minute < 0 || minute >= static_cast<int>(kMinutesPerSession)) return std::nullopt;
      bar.minute = minute;
    }
    bar.open = price(f[cols_.open], "open");
    bar.high = price(f[cols_.high], "high");
    bar.low = price(f[cols_.low], "low");
    bar.close = price(f[cols_.close], "close");
    bar.volume = volume(f[cols_.volume]);
    return bar;
  }

  std::string file_;
  CsvAsset asset_;
  Columns cols_;
  int width_ = 0;
  int line_no_ = 0;
  bool has_time_in_datetime_ = false;
};

}  // namespace

CsvImportReport importCsvDirectory(const std::string& dir, const std::string& bundle_path) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw EngineError(fmt::format("{}: not a directory", dir));
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string ext = entry.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (entry.is_regular_file() && ext == ".csv") files.push_back(entry.path());
  }
  if (ec) throw EngineError(fmt::format("{}: {}", dir, ec.message()));
  if (files.empty()) throw EngineError(fmt::format("{}: no .csv files", dir));
  std::sort(files.begin(), files.end());

  CsvImportReport report;
  std::vector<CsvAsset> assets;
  std::optional<bool> minute;
  for (const fs::path& file : files) {
    std::string symbol = file.stem().string();
    std::transform(symbol.begin(), symbol.end(), symbol.begin(), [](unsigned char ch) { return std::toupper(ch); });
    if (symbol.empty() || symbol.size() >= bundle::kSymbolBytes)
      throw EngineError(fmt::format("{}: the symbol (file name) must be 1 to {} characters", file.string(),
                                    bundle::kSymbolBytes - 1));
    CsvFileParser parser(file.string(), symbol);
    assets.push_back(parser.parse(report.skipped_rows));
    if (minute && *minute != parser.minuteBars())
      throw EngineError(fmt::format("{}: minute and daily files cannot be mixed in one bundle", file.string()));
    minute = parser.minuteBars();
  }

  // Assets in symbol order, whatever the case of the file names.
  std::sort(assets.begin(), assets.end(), [](const CsvAsset& a, const CsvAsset& b) { return a.symbol < b.symbol; });
  for (size_t i = 1; i < assets.size(); ++i)
    if (assets[i].symbol == assets[i - 1].symbol)
      throw EngineError(fmt::format("{}: two files for the symbol {}", dir, assets[i].symbol));

  std::vector<int32_t> days;
  for (const CsvAsset& a : assets)
    for (const CsvBar& b : a.bars) days.push_back(b.day);
  std::sort(days.begin(), days.end());
  days.erase(std::unique(days.begin(), days.end()), days.end());
  std::vector<Date> sessions;
  for (int32_t d : days) sessions.push_back(Date::fromDays(d));
  auto sessionOf = [&](int32_t day) {
    return static_cast<uint32_t>(std::lower_bound(days.begin(), days.end(), day) - days.begin());
  };

  BundleWriter writer(bundle_path, sessions, static_cast<uint32_t>(assets.size()), *minute, 0);
  for (uint32_t i = 0; i < assets.size(); ++i) {
    AssetId a = assetId(i);
    const CsvAsset& asset = assets[i];
    writer.setAsset(a, asset.symbol, sessionOf(asset.bars.front().day), sessionOf(asset.bars.back().day));
    auto col = [&](Field f) { return *minute ? writer.minute(f, a) : writer.daily(f, a); };
    auto o = col(Field::Open), h = col(Field::High), l = col(Field::Low), c = col(Field::Close), v = col(Field::Volume);
    for (const CsvBar& b : asset.bars) {
      size_t at =
          *minute ? size_t{sessionOf(b.day)} * kMinutesPerSession + static_cast<size_t>(b.minute) : sessionOf(b.day);
      o[at] = b.open;
      h[at] = b.high;
      l[at] = b.low;
      c[at] = b.close;
      v[at] = b.volume;
    }
    if (*minute) writer.deriveDailyBars(a);
    report.bars += asset.bars.size();
  }
  writer.commit();
  report.assets = static_cast<uint32_t>(assets.size());
  report.sessions = static_cast<uint32_t>(sessions.size());
  report.minute_bars = *minute;
  return report;
}

}  // namespace tidemark::engine
