#include <gtest/gtest.h>

#include "symbolizer.h"

namespace {

using tidemark::demangle;
using tidemark::withoutParameters;

TEST(Symbolizer, ParameterListsAreDropped) {
  EXPECT_EQ(withoutParameters("HistoryCache::insert(int, std::vector<double, std::allocator<double> > const&)"),
            "HistoryCache::insert");
  EXPECT_EQ(withoutParameters("ns::f() const"), "ns::f");
  EXPECT_EQ(withoutParameters("Functor::operator()(int)"), "Functor::operator()");
  EXPECT_EQ(withoutParameters("main"), "main");
  EXPECT_EQ(withoutParameters("run(std::function<void (int)>)"), "run");
  EXPECT_EQ(withoutParameters("f()::{lambda(int)#1}::operator()(int) const"), "f()::{lambda(int)#1}::operator()");
}

TEST(Symbolizer, Demangles) {
  EXPECT_EQ(demangle("_ZN12HistoryCache6insertEi"), "HistoryCache::insert(int)");
  EXPECT_EQ(demangle("plain_c_name"), "plain_c_name");
}

}  // namespace
