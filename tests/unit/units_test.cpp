#include <csignal>

#include <gtest/gtest.h>

#include "units.h"

namespace {

TEST(Units, Bytes) {
  EXPECT_EQ(tidemark::humanBytes(512), "512 B");
  EXPECT_EQ(tidemark::humanBytes(1536), "1.50 KiB");
  EXPECT_EQ(tidemark::humanBytes(20971520), "20.0 MiB");
  EXPECT_EQ(tidemark::humanBytes(3ull << 30), "3.00 GiB");
}

TEST(Units, Numbers) {
  EXPECT_EQ(tidemark::groupedNumber(0), "0");
  EXPECT_EQ(tidemark::groupedNumber(999), "999");
  EXPECT_EQ(tidemark::groupedNumber(20971520), "20,971,520");
}

TEST(Units, Durations) {
  EXPECT_EQ(tidemark::humanDuration(12000000), "12 ms");
  EXPECT_EQ(tidemark::humanDuration(2310000000), "2.31 s");
  EXPECT_EQ(tidemark::humanDuration(3720ull * 1000000000), "1 h 02 min");
}

TEST(Units, Signals) { EXPECT_EQ(tidemark::signalName(SIGKILL), "SIGKILL"); }

}  // namespace
