// A strategy's parameters: declared with a default and a help line, set with --param NAME=VALUE or
// swept with --sweep NAME=V1,V2.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace tidemark::engine {

struct ParamSpec {
  std::string name;
  double default_value;
  std::string help;
};

class StrategyParams {
 public:
  StrategyParams() = default;
  explicit StrategyParams(const std::vector<ParamSpec>& specs);

  // Throws EngineError for a name the strategy does not declare.
  void set(std::string_view name, double value);
  double get(std::string_view name) const;
  // A whole number of at least `min` (a window, a count); throws EngineError otherwise.
  uint32_t count(std::string_view name, uint32_t min = 1) const;
  const std::map<std::string, double, std::less<>>& values() const { return values_; }

 private:
  std::map<std::string, double, std::less<>> values_;
};

// "NAME=VALUE" -> (name, value); throws EngineError on anything else.
std::pair<std::string, double> parseParamAssignment(std::string_view text);

}  // namespace tidemark::engine
