// The analysis commands' heap in transparent huge pages. The analysis takes its memory from the
// heap (main.cpp): a Python program's trace, with a stack per line run, makes hundreds of MB of
// tables, and on a virtual machine each 4 KiB page costs a fault of several microseconds. glibc
// asks the kernel for 2 MiB pages on its heap when its tunable glibc.malloc.hugetlb says so, and it
// reads its tunables only when a program starts.
#pragma once

#include <optional>
#include <string>

namespace tidemark {

// The GLIBC_TUNABLES that add glibc's heap in huge pages to `tunables` (null: none set), or
// nothing when they already say whether to use them (the user's word stands).
std::optional<std::string> tunablesWithHugePages(const char* tunables);

// Starts this program again, with the same arguments and those tunables, when the kernel gives
// huge pages on request only (its "madvise" mode: "always" gives them anyway) and they are not
// set; returns when it does not or cannot (and nothing is changed then).
void restartWithHugePages(char** argv);

}  // namespace tidemark
