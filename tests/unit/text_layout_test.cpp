// Names and lines as a terminal shows them: templates shortened, qualifiers kept, 100 columns.
#include <gtest/gtest.h>

#include "progress_line.h"

#include "text_layout.h"

using namespace tidemark;

TEST(ShortName, TemplateArgumentsAndTheReturnTypeOfAFunctionTemplateGo) {
  EXPECT_EQ(shortName("void std::vector<QuantLib::TrinomialTree::Branching, std::allocator<QuantLib::TrinomialTree::Branching> "
                      ">::_M_realloc_insert<QuantLib::TrinomialTree::Branching const&>"),
            "std::vector<…>::_M_realloc_insert<…>");
  EXPECT_EQ(shortName("QuantLib::TreeLattice<QuantLib::BlackScholesLattice<QuantLib::Tree> >::partialRollback"),
            "QuantLib::TreeLattice<…>::partialRollback");
}

TEST(ShortName, ShortArgumentsQualifiersAndOperatorsStay) {
  EXPECT_EQ(shortName("std::vector<int>::push_back"), "std::vector<int>::push_back");
  EXPECT_EQ(shortName("(anonymous namespace)::Cache<double>::load"), "(anonymous namespace)::Cache<double>::load");
  EXPECT_EQ(shortName("tidemark::engine::HistoryCache::decodeColumn"), "tidemark::engine::HistoryCache::decodeColumn");
  EXPECT_EQ(shortName("bool std::operator< <char, std::char_traits<char>, std::allocator<char> >"), "std::operator< <…>");
  EXPECT_EQ(shortName("Foo<int>::operator<<"), "Foo<int>::operator<<");
  EXPECT_EQ(shortName("Matrix<double, 3>::operator()"), "Matrix<double, 3>::operator()");
  EXPECT_EQ(shortName("unbalanced<name"), "unbalanced<name");  // not a template: left as it is
}

TEST(WrapText, LinesFitAndKeepNumbersWithTheirUnits) {
  std::string text = wrapText("the heap rose by 75.6 MiB across the 500 sessions of the simulated run", 30, "  ", "    ");
  EXPECT_EQ(text, "  the heap rose by 75.6 MiB\n    across the 500 sessions of\n    the simulated run\n");
  // A word longer than a line is cut after a slash in its second half, else where the line ends.
  EXPECT_EQ(wrapText("/tmp/runs/2026-11-30/a-long-name.tmtrace", 30, "", "  "), "/tmp/runs/2026-11-30/\n  a-long-name.tmtrace\n");
  EXPECT_EQ(wrapText("/tmp/a-rather-long-directory-name", 30, "", "  "), "/tmp/a-rather-long-directory\n  -name\n");
}

TEST(FitLines, LongLinesWrapUnderTheirValueColumn) {
  std::string text = fitLines("short line\ncommand   engine run --days 500 --fault leak-per-day --fault spike\n", 40);
  EXPECT_EQ(text, "short line\ncommand   engine run --days 500 --fault\n          leak-per-day --fault spike\n");
}

// The progress line on a terminal: what is under way and how far, cut to the terminal's width.
TEST(ProgressLine, SaysWhatAndHowFarWithinTheTerminal) {
  EXPECT_EQ(tidemark::ProgressLine::text("reading bt/1.tmtrace", 0.456, 80), "tidemark: reading bt/1.tmtrace 46%");
  EXPECT_EQ(tidemark::ProgressLine::text("finding the functions", -1, 80), "tidemark: finding the functions");
  EXPECT_EQ(tidemark::ProgressLine::text("reading bt/1.tmtrace", 1.2, 80), "tidemark: reading bt/1.tmtrace 100%");
  std::string cut = tidemark::ProgressLine::text("reading /a/very/long/path/to/a/trace/of/a/backtest.tmtrace", 0.5, 40);
  EXPECT_EQ(cut.size(), 39u);  // one column left for the cursor
  EXPECT_EQ(cut, "tidemark: reading /a/very/long/p... 50%");
}
