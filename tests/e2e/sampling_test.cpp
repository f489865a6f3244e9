// Sample mode against the truth: a program that knows what each of its sites holds
// (tests/programs/sampled_sites.cpp) run in full mode (exact) and sampled by bytes with several
// seeds: each site's estimate must fall inside its stated error bars.
#include <gtest/gtest.h>

#include <map>
#include <regex>

#include <fmt/format.h>

#include "harness.h"

using namespace tmtest;

namespace {

// What tests/programs/sampled_sites.cpp holds at exit, by site.
const std::map<std::string, uint64_t> kLiveAtExit = {
    {"keepSmall", 20'000'000}, {"keepMedium", 20'000'000}, {"keepLarge", 40'000'000}, {"growBuffer", 16'777'216}};

TEST(Sampling, FullModeIsExactOnTheKnownSites) {
  std::string trace = tempDir() + "/full";
  Result r = run({tidemark(), "run", "-o", trace, "--", program("tm-test-sampled_sites")});
  ASSERT_EQ(r.code, 0) << r.err;
  auto s = summary(trace);
  for (const auto& [site, bytes] : kLiveAtExit) {
    const auto* g = group(s["leaks"]["stacks"], site);
    ASSERT_TRUE(g) << site;
    EXPECT_EQ((*g)["live_bytes"], bytes) << site;
    EXPECT_EQ((*g)["live_error_bytes"], 0) << site;
  }
  EXPECT_EQ(s["mode"], "full");
  EXPECT_EQ(total(s["sites"], "churn", "allocations"), 200'000u);
}

// Each seed samples different allocations; a 95% interval may miss now and then, never by far.
TEST(Sampling, EstimatesOfKnownSitesFallInsideTheirErrorBars) {
  constexpr uint64_t kMean = 256 * 1024;
  int checked = 0, inside = 0;
  for (int seed = 1; seed <= 5; ++seed) {
    std::string trace = tempDir() + fmt::format("/sampled{}", seed);
    Result r = run({tidemark(), "run", "--mode", "sample", "--sample-bytes", "256K", "-o", trace, "--",
                    program("tm-test-sampled_sites")},
                   {"TIDEMARK_SAMPLE_SEED=" + std::to_string(seed)});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("kept 40420 blocks"), std::string::npos) << r.out;  // the program's own output
    auto s = summary(trace);
    EXPECT_EQ(s["mode"], "sample");
    EXPECT_EQ(s["sample_bytes"], kMean);
    // About one allocation per 256 KiB allocated (+ each large block): far fewer than the 240,435.
    EXPECT_LT(s["allocations"].get<uint64_t>(), 2'000u);
    for (const auto& [site, bytes] : kLiveAtExit) {
      const auto* g = group(s["leaks"]["stacks"], site);
      ASSERT_TRUE(g) << site << " seed " << seed << "\n" << s["leaks"].dump(1);
      double estimate = (*g)["live_bytes"].get<double>();
      double error = (*g)["live_error_bytes"].get<double>();  // half-width of the 95% interval
      double miss = std::abs(estimate - static_cast<double>(bytes));
      ++checked;
      if (miss <= error) ++inside;
      // Twice the 95% half-width is four standard errors: a miss that far is a bias, not chance.
      EXPECT_LE(miss, 2 * error + 1) << site << " seed " << seed << ": " << estimate << " ± " << error;
      // Blocks far larger than the mean are all but certain to be sampled: nearly exact.
      if (site == "keepLarge") {
        EXPECT_LT(miss, 0.01 * static_cast<double>(bytes)) << seed;
      }
    }
    const auto* churn = group(s["sites"], "churn");
    if (churn) {
      EXPECT_EQ((*churn)["live_bytes"], 0);  // every temporary freed, sampled or not
    }
    // The text says what the figures are.
    Result text = run({tidemark(), "summary", trace});
    ASSERT_EQ(text.code, 0) << text.err;
    EXPECT_NE(text.out.find("sampled: one point every 256.0 KiB allocated on average"), std::string::npos) << text.out;
    EXPECT_TRUE(std::regex_search(text.out, std::regex("bytes ± [0-9.]+ [KM]iB in [0-9]+ sampled blocks"))) << text.out;
  }
  // 20 intervals of 95%: at least 16 hold the truth (fewer happens by chance 1.6% of the time).
  EXPECT_GE(inside, 16) << inside << " of " << checked;
}

// Growth findings from the samples (tests/programs/growth_patterns.cpp, 200 simulated days): the
// leak of 64 KiB a day is unbounded at its rate, and the cache of 40 entries, whose estimate drifts
// as its sampled entries come and go, is never taken for growth.
TEST(Sampling, GrowthVerdictsFromTheSamples) {
  int inside = 0;
  for (int seed = 1; seed <= 4; ++seed) {
    std::string trace = tempDir() + fmt::format("/growth{}", seed);
    Result r = run({tidemark(), "run", "--mode", "sample", "--sample-bytes", "64K", "-o", trace, "--",
                    program("tm-test-growth_patterns")},
                   {"TIDEMARK_SAMPLE_SEED=" + std::to_string(seed)});
    ASSERT_EQ(r.code, 0) << r.err;
    auto s = summary(trace);
    std::map<std::string, nlohmann::json> sites;
    for (const auto& site : s["findings"]["sites"]) sites[site["function"].get<std::string>()] = site;
    ASSERT_TRUE(sites.count("leakPerDay") && sites.count("cacheInsert")) << s["findings"].dump(1);
    EXPECT_EQ(sites["leakPerDay"]["verdict"], "unbounded growth") << seed;
    const double rate = sites["leakPerDay"]["rate_bytes_per_day"], error = sites["leakPerDay"]["rate_error_bytes_per_day"];
    EXPECT_NEAR(rate, 65536.0, 0.25 * 65536) << seed;
    // The rate's 95% interval from the sampling: every rate within twice it, most inside it.
    EXPECT_GT(error, 0) << seed;
    EXPECT_LE(std::abs(rate - 65536), 2 * error) << seed << " error " << error;
    inside += std::abs(rate - 65536) <= error;
    EXPECT_NE(sites["cacheInsert"]["verdict"], "unbounded growth") << seed << sites["cacheInsert"].dump(1);
    if (sites.count("chunkResults")) {
      EXPECT_NE(sites["chunkResults"]["verdict"], "unbounded growth") << seed;
    }
    if (sites.count("spikeWorkspace")) {
      EXPECT_EQ(sites["spikeWorkspace"]["verdict"], "transient") << seed;
    }
  }
  EXPECT_GE(inside, 3);
}

// A Python program in sample mode: pymalloc's objects are sampled like any block, and the line
// that holds 2,000 bytearrays of 2,000 bytes (what the program counts with __sizeof__) is named by
// its Python frame with an estimate inside its bars, on every interpreter here.
TEST(Sampling, PythonObjectsAreSampledWithTheirLines) {
  const std::string source = programSource("python/known_lines.py");
  const int buffers_line = lineOf(source, "BUFFERS");
  for (const std::string& python : pythonInterpreters()) {
    SCOPED_TRACE(python);
    std::string trace = tempDir() + "/python";
    Result r = run({tidemark(), "run", "--mode", "sample", "--sample-bytes", "16K", "-o", trace, "--", python, source,
                    "2000", "2000"},
                   {"TIDEMARK_SAMPLE_SEED=7"});
    ASSERT_EQ(r.code, 0) << r.err;
    uint64_t held = nlohmann::json::parse(r.out)["buffers"];
    auto s = summary(trace);
    const nlohmann::json* buffers = group(s["top_at_peak"], "hold_buffers");
    ASSERT_TRUE(buffers) << s["top_at_peak"].dump(1);
    EXPECT_EQ((*buffers)["frames"][0]["line"], buffers_line);
    double miss = std::abs((*buffers)["peak_bytes"].get<double>() - static_cast<double>(held));
    EXPECT_LE(miss, 2 * (*buffers)["peak_error_bytes"].get<double>() + 1) << buffers->dump(1) << " held " << held;
    EXPECT_GT((*buffers)["peak_error_bytes"].get<uint64_t>(), 0u);
  }
}

}  // namespace
