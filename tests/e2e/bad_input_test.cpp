// Bad input gets one clear line and a non-zero exit, never a crash or a wrong number.
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "harness.h"

using namespace tmtest;

namespace {

int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

TEST(BadInput, CommandThatDoesNotExist) {
  Result r = run({tidemark(), "run", "--", "/no/such/program"});
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(r.err, "tidemark: command not found: /no/such/program\n");
}

TEST(BadInput, StaticBinaryCannotBePreloaded) {
  Result r = run({tidemark(), "run", "-o", tempDir() + "/s.tmtrace", "--", program("tm-test-static_prog")});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("statically linked"), std::string::npos) << r.err;
  EXPECT_EQ(lines(r.err), 1) << r.err;
}

TEST(BadInput, WrongFlag) {
  Result r = run({tidemark(), "summary", "--no-such-flag", "x"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err), 1) << r.err;
  r = run({tidemark(), "run", "--interval-ms", "abc", "--", "true"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err), 1) << r.err;
}

TEST(BadInput, MissingTrace) {
  Result r = run({tidemark(), "summary", "/no/such.tmtrace"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "tidemark: cannot open trace /no/such.tmtrace: No such file or directory\n");
}

TEST(BadInput, GarbageFile) {
  std::string path = tempDir() + "/garbage.tmtrace";
  std::mt19937 rng(1);
  std::ofstream f(path, std::ios::binary);
  for (int i = 0; i < 100000; ++i) f.put(static_cast<char>(rng()));
  f.close();
  Result r = run({tidemark(), "summary", path});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("not a tidemark trace"), std::string::npos) << r.err;
  EXPECT_EQ(lines(r.err), 1) << r.err;
}

TEST(BadInput, NewerFormatVersionIsRefused) {
  std::string dir = tempDir();
  ASSERT_EQ(run({tidemark(), "run", "-o", dir + "/v", "--", program("tm-test-known_peak")}).code, 0);
  std::string trace = onlyTrace(dir + "/v");
  std::fstream f(trace, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(8);
  uint32_t version = 99;
  f.write(reinterpret_cast<const char*>(&version), sizeof version);
  f.close();
  Result r = run({tidemark(), "summary", trace});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("version 99 is newer"), std::string::npos) << r.err;
}

}  // namespace
