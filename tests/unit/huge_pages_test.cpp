// The tunables an analysis command restarts with (cli/huge_pages.h): glibc's heap in huge pages
// added to the user's, never in place of them, and never when the user said either way.
#include <gtest/gtest.h>

#include "huge_pages.h"

using namespace tidemark;

TEST(HugePages, AddedToTheUsersTunablesUnlessTheySayHowAlready) {
  EXPECT_EQ(tunablesWithHugePages(nullptr), "glibc.malloc.hugetlb=1");
  EXPECT_EQ(tunablesWithHugePages(""), "glibc.malloc.hugetlb=1");
  EXPECT_EQ(tunablesWithHugePages("glibc.malloc.check=3"), "glibc.malloc.check=3:glibc.malloc.hugetlb=1");
  EXPECT_EQ(tunablesWithHugePages("glibc.malloc.hugetlb=0"), std::nullopt);
  EXPECT_EQ(tunablesWithHugePages("glibc.malloc.check=3:glibc.malloc.hugetlb=1"), std::nullopt);
}
