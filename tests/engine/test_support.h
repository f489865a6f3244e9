// Helpers for the engine's tests: scratch directories, small hand-made bundles, child processes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/date.h"

namespace tmengine {

// A fresh directory, removed with everything in it when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct TestBar {
  double open, high, low, close;  // dollars; close 0 means no trade
  uint32_t volume;
};

// Writes a bundle whose bar (session-level for daily bundles, minute-level for minute bundles) is
// bar(asset, bar index). Minute bundles get their daily bars derived.
void writeTestBundle(const std::string& path, const std::vector<tidemark::engine::Date>& sessions, uint32_t assets,
                     bool minute, const std::function<TestBar(uint32_t asset, uint64_t bar)>& bar);

std::string readFile(const std::string& path);
void writeFile(const std::string& path, const std::string& text);

struct ProcessResult {
  int code = -1;  // exit code, or 128 + signal
  std::string out, err;
};
ProcessResult runProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});

int lineCount(const std::string& s);

}  // namespace tmengine
