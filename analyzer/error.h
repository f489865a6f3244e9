// The one exception type of the analyzer and reports: caught in main, printed as one line.
#pragma once

#include <stdexcept>
#include <string>

namespace tidemark {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace tidemark
