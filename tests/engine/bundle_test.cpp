// Bundles: the generator is deterministic, what is written is read back, a damaged file gets one
// clear error; and the CSV importer.
#include "data/bundle.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "data/bar_generator.h"
#include "data/csv_importer.h"
#include "error.h"
#include "test_support.h"

using namespace tidemark::engine;
using tmengine::readFile;
using tmengine::TempDir;
using tmengine::writeFile;

namespace {

std::string errorOf(const std::string& path) {
  try {
    Bundle b(path);
  } catch (const EngineError& e) {
    return e.what();
  }
  return "";
}

GeneratorConfig small(bool minute) {
  GeneratorConfig g;
  g.assets = 6;
  g.sessions = 12;
  g.seed = 7;
  g.minute_bars = minute;
  return g;
}

TEST(Generator, SameSeedSameBytes) {
  TempDir dir;
  for (bool minute : {false, true}) {
    generateBundle(small(minute), dir.file("a"));
    generateBundle(small(minute), dir.file("b"));
    GeneratorConfig other = small(minute);
    other.seed = 8;
    generateBundle(other, dir.file("c"));
    EXPECT_EQ(readFile(dir.file("a")), readFile(dir.file("b")));
    EXPECT_NE(readFile(dir.file("a")), readFile(dir.file("c")));
  }
}

TEST(Generator, BarsAreConsistent) {
  TempDir dir;
  GeneratorConfig g = small(true);
  g.start = Date::fromCivil(2024, 3, 27);
  generateBundle(g, dir.file("m"));
  Bundle b(dir.file("m"));
  EXPECT_EQ(b.assetCount(), 6u);
  EXPECT_EQ(b.sessionCount(), 12u);
  EXPECT_TRUE(b.hasMinuteBars());
  EXPECT_EQ(b.calendar().session(2).str(), "2024-04-01");  // Good Friday and the weekend skipped
  EXPECT_EQ(b.seed(), 7u);
  uint64_t traded = 0;
  for (uint32_t i = 0; i < b.assetCount(); ++i) {
    AssetId a = assetId(i);
    auto o = b.minute(Field::Open, a), h = b.minute(Field::High, a), l = b.minute(Field::Low, a);
    auto c = b.minute(Field::Close, a), v = b.minute(Field::Volume, a);
    for (size_t m = 0; m < c.size(); ++m) {
      if (!c[m]) {
        EXPECT_EQ(o[m] | h[m] | l[m] | v[m], 0u);
        continue;
      }
      ++traded;
      EXPECT_LE(l[m], std::min(o[m], c[m]));
      EXPECT_GE(h[m], std::max(o[m], c[m]));
      EXPECT_GT(v[m], 0u);
      EXPECT_EQ(c[m] % 100, 0u);  // whole cents
    }
    // Daily bars are the minutes aggregated.
    for (uint32_t s = b.firstSession(a); s <= b.lastSession(a); ++s) {
      uint64_t volume = 0;
      uint32_t last = 0;
      for (uint32_t m = 0; m < kMinutesPerSession; ++m) {
        volume += v[s * kMinutesPerSession + m];
        if (c[s * kMinutesPerSession + m]) last = c[s * kMinutesPerSession + m];
      }
      EXPECT_EQ(b.daily(Field::Volume, a)[s], volume);
      EXPECT_EQ(b.daily(Field::Close, a)[s], last);
    }
  }
  EXPECT_GT(traded, 1000u);
}

TEST(Bundle, RoundTrip) {
  TempDir dir;
  auto sessions = tradingSessions(Date::fromCivil(2024, 1, 2), 5);
  tmengine::writeTestBundle(dir.file("rt"), sessions, 3, false, [](uint32_t a, uint64_t s) {
    if (a == 2 && s == 1) return tmengine::TestBar{0, 0, 0, 0, 0};
    double p = 10.0 * (a + 1) + s * 0.25;
    return tmengine::TestBar{p - 0.01, p + 0.5, p - 0.5, p, static_cast<uint32_t>(1000 * (a + 1) + s)};
  });
  Bundle b(dir.file("rt"));
  EXPECT_FALSE(b.hasMinuteBars());
  EXPECT_EQ(b.symbol(assetId(1)), "T1");
  EXPECT_EQ(b.findSymbol("T2"), assetId(2));
  EXPECT_FALSE(b.findSymbol("NOPE"));
  EXPECT_EQ(b.calendar().session(4), sessions[4]);
  EXPECT_EQ(b.daily(Field::Close, assetId(1))[3], 200000u + 7500u);
  EXPECT_EQ(b.daily(Field::Open, assetId(1))[3], 200000u + 7500u - 100u);
  EXPECT_EQ(b.daily(Field::Volume, assetId(2))[4], 3004u);
  EXPECT_EQ(b.daily(Field::Close, assetId(2))[1], 0u);
  EXPECT_THROW(b.minute(Field::Close, assetId(0)), EngineError);
}

class DamagedBundle : public ::testing::Test {
 protected:
  void SetUp() override {
    generateBundle(small(false), dir_.file("good"));
    bytes_ = readFile(dir_.file("good"));
  }
  std::string write(const std::string& bytes) {
    writeFile(dir_.file("bad"), bytes);
    return errorOf(dir_.file("bad"));
  }
  TempDir dir_;
  std::string bytes_;
};

TEST_F(DamagedBundle, MissingFile) {
  EXPECT_EQ(errorOf(dir_.file("none")), "cannot open bundle " + dir_.file("none") + ": No such file or directory");
}

TEST_F(DamagedBundle, NotABundle) {
  EXPECT_EQ(write(std::string(5000, 'x')), "bundle " + dir_.file("bad") + ": not a tidemark bundle");
  EXPECT_EQ(write(""), "bundle " + dir_.file("bad") + ": empty file, not a tidemark bundle");
  EXPECT_NE(write("TMBUNDLE").find("too short"), std::string::npos);
  EXPECT_NE(errorOf(dir_.path()).find("not a regular file"), std::string::npos);
}

TEST_F(DamagedBundle, Truncated) {
  std::string e = write(bytes_.substr(0, bytes_.size() / 2));
  EXPECT_EQ(e, fmt::format("bundle {}: truncated: {} bytes, the header says {}", dir_.file("bad"), bytes_.size() / 2,
                           bytes_.size()));
}

TEST_F(DamagedBundle, CorruptHeader) {
  std::string b = bytes_;
  b[16] ^= 1;  // asset_count
  EXPECT_EQ(write(b), "bundle " + dir_.file("bad") + ": corrupt header (checksum mismatch)");
}

TEST_F(DamagedBundle, CorruptTable) {
  std::string b = bytes_;
  b[4096 + 2] ^= 0x40;  // a session date
  EXPECT_EQ(write(b), "bundle " + dir_.file("bad") + ": corrupt session or asset table (checksum mismatch)");
}

TEST_F(DamagedBundle, NewerVersion) {
  std::string b = bytes_;
  auto* h = reinterpret_cast<bundle::Header*>(b.data());
  h->version = 2;
  h->header_checksum = bundle::fnv1a(h, offsetof(bundle::Header, header_checksum));
  EXPECT_EQ(write(b), "bundle " + dir_.file("bad") + ": format version 2, newer than this engine reads (1)");
}

TEST(CsvImport, DailyFilesWithDifferentRanges) {
  TempDir dir;
  std::filesystem::create_directory(dir.file("csv"));
  writeFile(dir.file("csv/aapl.csv"),
            "Date,Open,High,Low,Close,Volume\n"
            "2024-01-02,187.15,188.44,183.89,185.64,82488700\n"
            "2024-01-03,184.22,185.88,183.43,184.25,58414500\n"
            "2024-01-05,181.99,182.76,180.17,181.18,62303300\n");
  writeFile(dir.file("csv/MSFT.CSV"),
            "date,volume,close,low,high,open\r\n"  // any column order, CRLF
            "2024-01-03,25258600,370.60,369.01,373.26,369.01\r\n"
            "2024-01-04,20901500,367.94,367.35,373.10,370.67\r\n");
  CsvImportReport r = importCsvDirectory(dir.file("csv"), dir.file("out.bundle"));
  EXPECT_EQ(r.assets, 2u);
  EXPECT_EQ(r.sessions, 4u);
  EXPECT_EQ(r.bars, 5u);
  EXPECT_FALSE(r.minute_bars);
  Bundle b(dir.file("out.bundle"));
  EXPECT_EQ(b.symbol(assetId(0)), "AAPL");
  EXPECT_EQ(b.symbol(assetId(1)), "MSFT");
  EXPECT_EQ(b.calendar().session(2).str(), "2024-01-04");
  EXPECT_EQ(b.firstSession(assetId(1)), 1u);
  EXPECT_EQ(b.lastSession(assetId(1)), 2u);
  EXPECT_EQ(b.daily(Field::Close, assetId(0))[0], 1856400u);
  EXPECT_EQ(b.daily(Field::Close, assetId(0))[2], 0u);  // AAPL has no row for 2024-01-04
  EXPECT_EQ(b.daily(Field::Volume, assetId(1))[2], 20901500u);
  EXPECT_EQ(b.daily(Field::Open, assetId(1))[1], 3690100u);
}

TEST(CsvImport, MinuteBarsLabelledByStartTime) {
  TempDir dir;
  std::filesystem::create_directory(dir.file("csv"));
  writeFile(dir.file("csv/SPY.csv"),
            "datetime,open,high,low,close,volume\n"
            "2024-01-02 09:29:00,470.00,470.10,469.90,470.05,1000\n"  // pre-market: skipped
            "2024-01-02 09:30:00,472.16,472.40,472.00,472.30,90000\n"
            "2024-01-02T09:31:00,472.30,472.50,472.10,472.20,50000\n"
            "2024-01-02 15:59,473.00,473.10,472.90,473.05,200000\n"
            "2024-01-02 16:00:00,473.05,473.05,473.05,473.05,5\n");  // after the close: skipped
  CsvImportReport r = importCsvDirectory(dir.file("csv"), dir.file("m.bundle"));
  EXPECT_TRUE(r.minute_bars);
  EXPECT_EQ(r.bars, 3u);
  EXPECT_EQ(r.skipped_rows, 2u);
  Bundle b(dir.file("m.bundle"));
  auto close = b.minute(Field::Close, assetId(0));
  EXPECT_EQ(close[0], 4723000u);
  EXPECT_EQ(close[1], 4722000u);
  EXPECT_EQ(close[2], 0u);
  EXPECT_EQ(close[389], 4730500u);
  EXPECT_EQ(b.daily(Field::Open, assetId(0))[0], 4721600u);
  EXPECT_EQ(b.daily(Field::High, assetId(0))[0], 4731000u);
  EXPECT_EQ(b.daily(Field::Low, assetId(0))[0], 4720000u);
  EXPECT_EQ(b.daily(Field::Close, assetId(0))[0], 4730500u);
  EXPECT_EQ(b.daily(Field::Volume, assetId(0))[0], 340000u);
}

TEST(CsvImport, BadInputNamesTheFileAndLine) {
  TempDir dir;
  std::filesystem::create_directory(dir.file("csv"));
  std::string file = dir.file("csv/X.csv");
  auto error = [&](const std::string& text) {
    writeFile(file, text);
    try {
      importCsvDirectory(dir.file("csv"), dir.file("o.bundle"));
    } catch (const EngineError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error("date,open,high,low,close,volume\n2024-01-02,1,2,0.5,abc,10\n"), file + ":2: bad close price 'abc'");
  EXPECT_EQ(error("date,open,high,low,close,volume\n2024-02-30,1,2,0.5,1,10\n"),
            file + ":2: bad date '2024-02-30' (expected YYYY-MM-DD)");
  EXPECT_EQ(error("when,open,high,low,close,volume\n"),
            file + ":1: header must name date (or datetime), open, high, low, close, volume");
  EXPECT_EQ(error("date,open,high,low,close,volume\n2024-01-02,1,2,0.5,1\n"), file + ":2: 5 fields, the header has 6");
  EXPECT_EQ(error("date,open,high,low,close,volume\n2024-01-02,1,2,0.5,1,10\n2024-01-02,1,2,0.5,1,10\n"),
            file + ": two bars for 2024-01-02");
  EXPECT_EQ(error(""), file + ": empty file, expected a header line");
  EXPECT_FALSE(std::filesystem::exists(dir.file("o.bundle")));
  std::filesystem::remove(file);
  EXPECT_THROW(
      {
        try {
          importCsvDirectory(dir.file("csv"), dir.file("o.bundle"));
        } catch (const EngineError& e) {
          EXPECT_EQ(std::string(e.what()), dir.file("csv") + ": no .csv files");
          throw;
        }
      },
      EngineError);
}

}  // namespace
