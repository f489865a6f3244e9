// Programs nobody here wrote, from Debian packages: their own libraries' frames stay in the stacks
// and their leaks count, wherever they are installed (issue: /usr/lib is not "the runtime").
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness.h"

using namespace tmtest;

namespace {

bool installed(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

TEST(RealPrograms, ACompilerUnderUsrLibLeaksAsItsOwnCode) {
  if (!installed("/usr/bin/g++")) GTEST_SKIP() << "g++ is not installed";
  std::string dir = tempDir();
  std::ofstream(dir + "/x.cpp") << "int twice(int x) { return 2 * x; }\n";
  Result r = run({tidemark(), "run", "-o", dir + "/gxx.tmtrace", "--", "g++", "-O2", "-c", dir + "/x.cpp", "-o", dir + "/x.o"});
  ASSERT_EQ(r.code, 0) << r.err;
  // cc1plus, under /usr/lib/gcc, writes its own trace beside the driver's.
  std::string cc1plus;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".tmtrace") continue;
    auto s = summary(entry.path().string());
    if (s["exe"].get<std::string>().find("/cc1plus") != std::string::npos) cc1plus = entry.path().string();
  }
  ASSERT_FALSE(cc1plus.empty()) << "no trace of cc1plus";
  auto s = summary(cc1plus);
  EXPECT_GT(s["leaks"]["bytes"].get<uint64_t>(), 100'000u) << "cc1plus's allocations were taken for the runtime's";
  EXPECT_LT(s["leaks"]["runtime_bytes"].get<uint64_t>(), 100'000u);
  const std::string site = s["leaks"]["stacks"][0]["site"];
  EXPECT_NE(site.find("cc1plus"), std::string::npos) << site;  // its own xmalloc, named in its module
  EXPECT_EQ(run({tidemark(), "gate", cc1plus, "--max-leaked", "1KiB"}).code, 1);
}

TEST(RealPrograms, ALibrarysOwnFunctionsStayInItsStacks) {
  if (!installed("/usr/bin/sqlite3")) GTEST_SKIP() << "sqlite3 is not installed";
  std::string trace = tempDir() + "/sqlite.tmtrace";
  Result r = run({tidemark(), "run", "-o", trace, "--", "sqlite3", ":memory:",
                  "create table t(a); with recursive c(x) as (select 1 union all select x+1 from c where x<50000) "
                  "insert into t select x from c; select count(*) from t;"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "50000\n");
  auto s = summary(trace);
  const auto& top = s["top_at_peak"][0];
  // libsqlite3 is under /lib: its frames are the library's own code, not folded away.
  bool named = false;
  for (size_t i = 0; i < 3 && i < top["frames"].size(); ++i)
    named = named || top["frames"][i]["function"].get<std::string>().rfind("sqlite3", 0) == 0;
  EXPECT_TRUE(named) << top["frames"].dump(1);
  EXPECT_NE(top["site"].get<std::string>().find("libsqlite3"), std::string::npos) << top["site"];
}

TEST(RealPrograms, WithFullStacksSitesAreStillNamedByTheProgramsCode) {
  std::string trace = tempDir() + "/cycles.tmtrace";
  ASSERT_EQ(run({tidemark(), "run", "-o", trace, "--", program("tm-test-cycles"), "100", "0", "0", "0"}).code, 0);
  auto folded = summary(trace);
  Result full = run({tidemark(), "summary", "--json", "--full", trace});
  ASSERT_EQ(full.code, 0) << full.err;
  auto f = nlohmann::json::parse(full.out);
  // make_shared's stack: operator new in libstdc++ first when every frame is kept...
  EXPECT_EQ(f["leaks"]["stacks"][0]["frames"][0]["function"], std::string("operator new")) << f["leaks"]["stacks"][0].dump(1);
  // ...and the same site either way: the program's function, not the allocator.
  EXPECT_EQ(f["leaks"]["stacks"][0]["site"], folded["leaks"]["stacks"][0]["site"]);
  EXPECT_EQ(folded["leaks"]["stacks"][0]["site"].get<std::string>().find("operator new"), std::string::npos);
}

}  // namespace
