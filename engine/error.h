// The engine's one exception type: bad input, a corrupt bundle, an impossible configuration. Caught
// in main and printed as one line.
#pragma once

#include <stdexcept>
#include <string>

namespace tidemark::engine {

class EngineError : public std::runtime_error {
 public:
  explicit EngineError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace tidemark::engine
