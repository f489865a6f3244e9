#include "huge_pages.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace tidemark {

namespace {

constexpr const char* kHugePagesTunable = "glibc.malloc.hugetlb";

bool kernelGivesHugePagesOnRequestOnly() {
  std::ifstream setting("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  return std::getline(setting, modes) && modes.find("[madvise]") != std::string::npos;
}

}  // namespace

std::optional<std::string> tunablesWithHugePages(const char* tunables) {
  const std::string set = tunables ? tunables : "";
  if (set.find(kHugePagesTunable) != std::string::npos) return std::nullopt;
  return (set.empty() ? "" : set + ":") + kHugePagesTunable + "=1";
}

void restartWithHugePages(char** argv) {
#ifdef __SANITIZE_ADDRESS__
  return;  // ASan's allocator is not glibc's: the tunable would change nothing but cost a start
#endif
  const char* set = getenv("GLIBC_TUNABLES");
  std::optional<std::string> tunables = tunablesWithHugePages(set);
  if (!tunables || !kernelGivesHugePagesOnRequestOnly()) return;
  const std::string before = set ? set : "";
  const bool was_set = set != nullptr;
  if (setenv("GLIBC_TUNABLES", tunables->c_str(), 1) != 0) return;
  execv("/proc/self/exe", argv);
  // Not restarted (no /proc): go on as started, with the environment as it was.
  if (was_set)
    setenv("GLIBC_TUNABLES", before.c_str(), 1);
  else
    unsetenv("GLIBC_TUNABLES");
}

}  // namespace tidemark
